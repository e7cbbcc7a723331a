#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# `mamori show --json` against mamori-gen's truth for the orders of issue 15 (TAP): a generated
# hospital (the demo's size), then for a few patients with each construct (unequal doses,
# weekday and interval patterns, tapers, PRN with maximum, site, instruction text, crushing,
# injections, allergies in order messages, no ADT-00) the prescriptions, injections,
# allergies and patient of `show --json` equal the truth in the contract's keys, and the
# current medication at several times (a taper's switch day and the day before, an
# alternate-day regimen's dosing and rest day, the day after a regimen ends) is what the
# truth's dose_days/until say, judged here without mamori's rules.
#   test_show_orders.py MAMORI MAMORI_GEN
import datetime
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

MAMORI, GEN = sys.argv[1], sys.argv[2]
results = []


def check(cond, what, got=None):
    results.append(bool(cond))
    print('%s %d - %s' % ('ok' if cond else 'not ok', len(results), what), flush=True)
    if not cond and got is not None:
        print('# got: %s' % json.dumps(got, ensure_ascii=False)[:600])
    return cond


def show(storage, pid, as_of=None):
    args = [MAMORI, 'show', pid, '--storage', storage, '--json']
    if as_of:
        args += ['--as-of', as_of]
    r = subprocess.run(args, capture_output=True, check=False)
    if r.returncode != 0:
        return None
    return json.loads(r.stdout)


def pick(d, keys):
    return {k: d.get(k) for k in keys}


RP_KEYS = ['usage', 'usage_code', 'days', 'days_unit', 'start', 'end', 'prn', 'condition',
           'tq_text', 'total', 'route', 'route_name', 'site', 'step']
DRUG_KEYS = ['code', 'name', 'dose', 'dose_max', 'unit', 'per_timing', 'daily_dose',
             'daily_unit', 'dispense', 'dispense_unit', 'instructions', 'class_code']
INJ_RP_KEYS = ['times', 'start', 'end', 'route', 'route_name', 'rate', 'rate_unit']
INJ_DRUG_KEYS = ['code', 'name', 'dose', 'unit', 'role']
PT_KEYS = ['id', 'name', 'kana', 'birth_date', 'sex', 'address', 'phone', 'source']


def pattern_of(rp):
    p = rp.get('pattern')
    if not p:
        return None
    return {k: p.get(k) for k in ('kind', 'code', 'text', 'weekdays', 'on', 'off') if k in p}


def constructs(pt):
    """The constructs a patient's truth shows, as names."""
    out = set()
    if pt['patient'] and pt['patient'].get('source') != 'ADT-00':
        out.add('no-adt00')
    for a in pt['allergies']:
        if a['source']['type'].startswith('OMP') or any(t.startswith('OMP') for t in a['also_in']):
            out.add('allergy-in-orders')
    for o in pt['prescriptions']:
        for rp in o['rps']:
            d = rp['drugs'][0]
            if d['per_timing']:
                out.add('unequal')
            if rp['pattern']:
                out.add(rp['pattern']['kind'])
            if rp['step']:
                out.add('taper')
            if rp['prn']:
                out.add('prn')
            if rp['site']:
                out.add('site')
            if any(x['instructions'] for x in rp['drugs']):
                out.add('instruction')
            if any('粉砕' in x['dispensing'] for x in rp['drugs']):
                out.add('crush')
    if pt['injections']:
        out.add('injection')
    return out


def compare_orders(pid, truth, got):
    for o in truth['prescriptions']:
        g = next((x for x in got.get('prescriptions', []) if x.get('order_no') == o['order_no']),
                 None)
        if not check(g, '%s: prescription %s read' % (pid, o['order_no'])):
            continue
        for rp in o['rps']:
            grp = next((x for x in g.get('rps', []) if str(x.get('rp')) == rp['rp']), None)
            ok = grp is not None and pick(grp, RP_KEYS) == pick(rp, RP_KEYS) \
                and pattern_of(grp) == pattern_of(rp)
            check(ok, '%s: order %s Rp %s timing' % (pid, o['order_no'], rp['rp']), grp and pick(grp, RP_KEYS))
            for d in rp['drugs']:
                gd = next((x for x in (grp or {}).get('drugs', []) if x.get('code') == d['code']),
                          None)
                check(gd is not None and pick(gd, DRUG_KEYS) == pick(d, DRUG_KEYS)
                      and all(x in gd.get('dispensing', []) for x in d['dispensing']),
                      '%s: order %s Rp %s drug %s' % (pid, o['order_no'], rp['rp'], d['code']),
                      gd and pick(gd, DRUG_KEYS))
    for o in truth['injections']:
        g = next((x for x in got.get('injections', []) if x.get('order_no') == o['order_no']),
                 None)
        rp, grp = o['rps'][0], (g or {}).get('rps', [None])[0]
        check(grp and pick(grp, INJ_RP_KEYS) == pick(rp, INJ_RP_KEYS)
              and [pick(x, INJ_DRUG_KEYS) for x in grp.get('drugs', [])]
              == [pick(x, INJ_DRUG_KEYS) for x in rp['drugs']],
              '%s: injection %s times, start, end, rate, drugs' % (pid, o['order_no']), grp)


def digits14(s):
    return re.sub(r'\D', '', s or '')[:14]


def compare_identity(pid, truth, got):
    tp, gp = truth['patient'], got.get('patient') or {}
    check(pick(gp, PT_KEYS) == pick(tp, PT_KEYS), '%s: patient from %s' % (pid, tp['source']),
          pick(gp, PT_KEYS))
    check(digits14(gp.get('source_time')) == digits14(tp['source_time']),
          '%s: patient source_time' % pid, gp.get('source_time'))

    def key(a):
        s = a.get('source') or {}
        return (a.get('type'), a.get('code'), a.get('name'), a.get('severity'), a.get('reaction'),
                s.get('type'), s.get('order_no'), digits14(s.get('file_time')),
                tuple(a.get('also_in') or []))

    want = sorted(key(a) for a in truth['allergies'])
    have = sorted(key(a) for a in got.get('allergies', []) if a.get('status', 'current') == 'current')
    check(want == have, '%s: allergies (union, source, also_in)' % pid, have)


def expected_current(truth, as_of):
    """(kind, order_no, rp, code) current at as_of by the truth's dose_days/until alone."""
    day = as_of[:10]
    out = {}
    for o in truth['prescriptions']:
        for rp in o['rps']:
            if rp['start'][:10] > day:
                continue
            if rp['until'] and day >= rp['until']:
                continue
            today = ''
            if rp['pattern']:
                today = 'dose' if day in rp['dose_days'] else 'rest'
            for d in rp['drugs']:
                out[('prescription', o['order_no'], rp['rp'], d['code'])] = today
    for o in truth['injections']:
        rp = o['rps'][0]
        if rp['start'] <= as_of <= rp['end']:
            out[('injection', o['order_no'], rp['rp'], '')] = ''
    return out


def compare_current(storage, pid, truth, as_of, what):
    got = show(storage, pid, as_of)
    cm = (got or {}).get('current_medication') or {}
    have = {}
    for it in cm.get('items', []):
        k = (it.get('kind'), it.get('order_no'), str(it.get('rp')),
             it.get('code', '') if it.get('kind') == 'prescription' else '')
        have[k] = it.get('today', '')
    want = expected_current(truth, as_of)
    check(cm.get('as_of') == as_of and have == want and not cm.get('undetermined'),
          '%s: current medication at %s (%s)' % (pid, as_of, what),
          {'missing': [list(k) for k in want if k not in have],
           'extra': [list(k) for k in have if k not in want],
           'today': [[list(k), have[k], want[k]] for k in want if k in have and have[k] != want[k]]})


def day_add(iso, n):
    return (datetime.date.fromisoformat(iso[:10]) + datetime.timedelta(days=n)).isoformat()


def times_for(pt):
    """Interesting as_of times of a patient: taper switch days, dosing and rest days."""
    out = []
    for o in pt['prescriptions']:
        for rp in o['rps']:
            if rp['step'] and rp['step']['n'] > 1:
                out.append((rp['start'] + 'T09:00', 'taper step %d switch day' % rp['step']['n']))
                out.append((day_add(rp['start'], -1) + 'T09:00', 'day before taper step %d' % rp['step']['n']))
            if rp['pattern'] and rp['dose_days']:
                d0 = rp['dose_days'][0]
                out.append((d0 + 'T09:00', '%s dosing day' % rp['pattern']['kind']))
                rest = day_add(d0, 1)
                if rest not in rp['dose_days'] and rest < rp['until']:
                    out.append((rest + 'T09:00', '%s rest day' % rp['pattern']['kind']))
            if not rp['pattern'] and not rp['prn'] and rp['until'] and len(out) < 8:
                out.append((rp['until'] + 'T09:00', 'day after a regimen ends'))
    for o in pt['injections'][:1]:
        out.append((o['rps'][0]['start'], 'injection start'))
        out.append((day_add(o['rps'][0]['start'], 1)[:10] + 'T08:00', 'day after an injection'))
    return out[:10]


def main():
    help_text = subprocess.run([MAMORI, 'show', '--help'], capture_output=True).stdout.decode()
    if '--as-of' not in help_text:
        # show --json gains the issue-15 fields with the order, identity and medication work
        print('1..0 # SKIP mamori show has no --as-of yet (issue 15, helpers 1-3)')
        return 0
    tmp = tempfile.mkdtemp(prefix='mm-orders-')
    try:
        out, truth_path = os.path.join(tmp, 'g'), os.path.join(tmp, 'truth.json')
        subprocess.run([GEN, '--out', out, '--patients', '200', '--days', '365', '--seed', '15',
                        '--truth', truth_path], check=True, capture_output=True)
        storage = os.path.join(out, 'standard')
        truth = json.load(open(truth_path, encoding='utf-8'))
        chosen, per = [], {}
        for pt in truth['patients']:
            cs = constructs(pt)
            if any(per.get(c, 0) < 3 for c in cs):
                chosen.append(pt)
                for c in cs:
                    per[c] = per.get(c, 0) + 1
        for c in ('unequal', 'weekdays', 'interval', 'taper', 'prn', 'site', 'instruction',
                  'crush', 'injection', 'allergy-in-orders', 'no-adt00'):
            check(per.get(c, 0) >= 2, 'the storage has %s (%d patients chosen)' % (c, per.get(c, 0)))
        for pt in chosen:
            pid = pt['patient']['id']
            got = show(storage, pid, truth['last_day'] + 'T23:59')
            if not check(got is not None, '%s: show --json answers' % pid):
                continue
            compare_identity(pid, pt, got)
            compare_orders(pid, pt, got)
            for as_of, what in times_for(pt):
                compare_current(storage, pid, pt, as_of, what)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print('1..%d' % len(results))
    return 0 if all(results) else 1


if __name__ == '__main__':
    sys.exit(main())
