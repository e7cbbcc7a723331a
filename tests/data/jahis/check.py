#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
#
# The JAHIS example storage (tests/data/jahis/storage, see PROVENANCE.md) read by `mamori show
# --json` (TAP): for each patient, the facts its messages carry, in the JSON keys of the issue-15
# contract (per-timing doses, day patterns, escalation steps, PRN, condition, maximum, total,
# dispense, site, instructions, dispensing, raw fields, allergies from order messages and where
# they came from, the patient taken from a PID when there is no ADT-00, injection rates and
# times); and `mamori scan --json` on the storage reports 0 fields dropped.
#
# usage: check.py MAMORI STORAGE
import json
import subprocess
import sys

RESULTS = []


def ok(cond, desc, why=''):
    RESULTS.append((bool(cond), desc, why))
    return bool(cond)


def eq(have, want, desc):
    return ok(have == want, desc, 'have %r, want %r' % (have, want))


def show(mamori, storage, patient):
    run = subprocess.run([mamori, 'show', patient, '--storage', storage, '--json'],
                         capture_output=True, timeout=60)
    if run.returncode != 0:
        ok(False, '%s: show --json exits 0' % patient, run.stderr.decode(errors='replace')[:200])
        return None
    return json.loads(run.stdout)


def get(obj, *keys):
    """obj[k1][k2]... or None when a key or index is missing (the contract key not there yet)."""
    for k in keys:
        try:
            obj = obj[k]
        except (KeyError, IndexError, TypeError):
            return None
    return obj


def order(rec, section, order_no):
    for o in rec.get(section) or []:
        if o.get('order_no') == order_no:
            return o
    return None


def raw_has(objs, field, text_part):
    """True when one of @objs (order, rp, line) lists @field in raw[] with @text_part in it."""
    for o in objs:
        for r in (o or {}).get('raw') or []:
            if r.get('field') == field and text_part in r.get('text', ''):
                return True
    return False


def timings(drug):
    entries = (drug or {}).get('per_timing') or []
    return [(t.get('n'), t.get('label'), t.get('dose')) for t in entries]


def jahis_example(rec):
    """1000000001: JAHIS 処方データ交換規約 Ver.3.0C 内服処方例 (copied, Apache-2.0)."""
    p = 'JAHIS 3.0C example'
    eq(get(rec, 'patient', 'source'), 'OMP-01', '%s: patient from the OMP-01 PID (no ADT-00)' % p)
    eq(get(rec, 'patient', 'name'), '患者 太郎', '%s: patient name from PID-5' % p)
    eq(get(rec, 'patient', 'birth_date'), '1960-12-24', '%s: birth date from PID-7' % p)
    eq(rec.get('allergies'), [], '%s: no allergy in any message' % p)
    o = order(rec, 'prescriptions', '12345678')
    if not ok(o, '%s: order 12345678 listed' % p):
        return
    rps = o.get('rps') or []
    eq(len(rps), 2, '%s: two Rps (ORC-4 12345678_01, _02)' % p)
    rp1, rp2 = get(rps, 0), get(rps, 1)
    eq([d.get('code') for d in get(rp1, 'drugs') or []], ['103835401', '110626901'],
       '%s: Rp1 holds two drugs' % p)
    eq(get(rp1, 'usage_code'), '1013044400000000', '%s: Rp1 usage code (TQ1-3 sub 1)' % p)
    eq(get(rp1, 'days'), '3', '%s: Rp1 3 days (TQ1-6)' % p)
    eq(get(rp1, 'days_unit'), 'D', '%s: Rp1 days unit D (TQ1-6 comp 2)' % p)
    eq(get(rp1, 'start'), '2016-08-25', '%s: Rp1 start (TQ1-7)' % p)
    eq(get(rp1, 'prn'), False, '%s: Rp1 not PRN' % p)
    d = get(rp1, 'drugs', 0)
    eq(get(d, 'dose'), '1', '%s: ムコダイン 1回1錠 (RXE-3)' % p)
    eq(get(d, 'unit'), '錠', '%s: ムコダイン unit name (RXE-5 comp 2)' % p)
    eq(get(d, 'dispense'), '9', '%s: ムコダイン dispense 9 (RXE-10)' % p)
    eq(get(d, 'dispense_unit'), '錠', '%s: ムコダイン dispense unit (RXE-11)' % p)
    eq(get(d, 'daily_dose'), '3', '%s: ムコダイン daily 3 (RXE-19)' % p)
    eq(get(d, 'daily_unit'), '錠', '%s: ムコダイン daily unit (RXE-19 comp 2 sub 2)' % p)
    ok('１回目から服用' in (get(d, 'instructions') or []),
       '%s: RXE-7 JHSP0005 text in instructions' % p, repr(get(d, 'instructions')))
    eq(get(d, 'dispensing'), ['外来処方', '院内処方'], '%s: RXE-21 dispensing names' % p)
    eq(get(d, 'class_code'), '21', '%s: RXE-27 class code 21' % p)
    eq(get(d, 'class'), '内服', '%s: RXE-27 class 内服' % p)
    d = get(rp2, 'drugs', 0)
    eq(get(d, 'dispense'), '1.4', '%s: アレビアチン dispense 1.4 (RXE-10)' % p)
    eq(get(d, 'dispense_unit'), 'グラム', '%s: アレビアチン dispense unit グラム' % p)
    ok(raw_has([o, rp2, d], 'RXE-25', '100'), '%s: RXE-25 (give strength) shown raw' % p)
    ok(raw_has([o, rp2, d], 'RXE-26', 'MG'), '%s: RXE-26 (strength unit) shown raw' % p)


def patient_a(rec):
    """5550002002: 不均等, 隔日, 頓用, 外用 with site; 曜日指定; AL1 in OMP-01; no ADT-00."""
    p = 'A'
    eq(get(rec, 'patient', 'source'), 'OMP-01', '%s: patient from the newest OMP-01 PID' % p)
    eq(get(rec, 'patient', 'name'), '見本 一郎', '%s: patient name' % p)
    al = rec.get('allergies') or []
    eq([a.get('name') for a in al], ['ペニシリン'], '%s: the AL1 of the OMP-01 is listed' % p)
    eq(get(al, 0, 'source', 'type'), 'OMP-01', '%s: allergy source type OMP-01' % p)
    o = order(rec, 'prescriptions', '260821000100001')
    if not ok(o, '%s: order 260821000100001 listed' % p):
        return
    rps = o.get('rps') or []
    eq(len(rps), 4, '%s: four Rps' % p)
    d = get(rps, 0, 'drugs', 0)
    eq(get(d, 'dose'), '1', '%s: 不均等 RXE-3 smallest dose 1' % p)
    eq(get(d, 'dose_max'), '4', '%s: 不均等 RXE-4 largest dose 4' % p)
    eq(timings(d), [(1, '朝', '4'), (2, '昼', '2'), (3, '夕', '1')],
       '%s: 不均等 per timing 朝4・昼2・夕1 (RXE-7 V codes)' % p)
    eq(get(d, 'daily_dose'), '7', '%s: 不均等 daily 7 (RXE-19)' % p)
    eq(get(d, 'dispense'), '49', '%s: 不均等 dispense 49' % p)
    eq(get(d, 'instructions'), [], '%s: V codes are not instructions' % p)
    eq(get(rps, 0) and ('pattern' in rps[0], rps[0].get('pattern')), (True, None),
       '%s: 不均等 Rp has pattern null (no day pattern)' % p)
    pat = get(rps, 1, 'pattern') or {}
    eq((pat.get('kind'), pat.get('on'), pat.get('off'), pat.get('code')),
       ('interval', 1, 1, 'I1100000'), '%s: 隔日 pattern interval on 1 off 1' % p)
    eq(pat.get('text'), '隔日投与', '%s: 隔日 pattern text' % p)
    eq(get(rps, 1, 'usage_code'), '1011000400000000', '%s: 隔日 usage from TQ1-3 rep 1' % p)
    ok('粉砕' in (get(rps, 1, 'drugs', 0, 'dispensing') or []), '%s: 粉砕 in dispensing' % p,
       repr(get(rps, 1, 'drugs', 0, 'dispensing')))
    rp = get(rps, 2) or {}
    eq(rp.get('prn'), True, '%s: 頓用 PRN (TQ1-9)' % p)
    eq(rp.get('condition'), '疼痛時', '%s: 頓用 condition (TQ1-10)' % p)
    eq(rp.get('tq_text'), '1日2回まで', '%s: 頓用 maximum (TQ1-11)' % p)
    eq(rp.get('total'), '10', '%s: 頓用 total 10回分 (TQ1-14)' % p)
    eq(get(rp, 'drugs', 0, 'class_code'), '22', '%s: 頓用 class code 22' % p)
    rp = get(rps, 3) or {}
    eq(rp.get('site'), '左手', '%s: 外用 site 左手 (RXR-2)' % p)
    eq(rp.get('route'), 'AP', '%s: 外用 route AP (RXR-1)' % p)
    d = get(rp, 'drugs', 0)
    eq(get(d, 'dose'), '', '%s: 外用 HL7 null dose is no value' % p)
    eq((get(d, 'dispense'), get(d, 'dispense_unit')), ('2', '本'), '%s: 外用 2本 (RXE-10/11)' % p)
    ok(raw_has([o, rp, d], 'NTE', '入浴後に薄く塗布'), '%s: NTE shown raw' % p)
    eq([('step' in r, r.get('step')) for r in rps], [(True, None)] * 4,
       '%s: step null on every Rp (different drugs, no escalation)' % p)
    o = order(rec, 'prescriptions', '260825000100002')
    pat = get(o, 'rps', 0, 'pattern') or {}
    eq((pat.get('kind'), pat.get('weekdays'), pat.get('code')),
       ('weekdays', [1, 4], 'W0100100'), '%s: 曜日指定 weekdays Mon, Thu' % p)
    eq(get(o, 'rps', 0, 'start'), '2026-08-27', '%s: 曜日指定 start (TQ1-7)' % p)


def patient_b(rec):
    """5550002003: ADT-00 and OMP-01 with the same allergy; escalation; older 不均等."""
    p = 'B'
    eq(get(rec, 'patient', 'source'), 'ADT-00', '%s: patient from ADT-00' % p)
    al = rec.get('allergies') or []
    eq([a.get('name') for a in al], ['ペニシリン'], '%s: one allergy, deduplicated' % p)
    eq(get(al, 0, 'source', 'type'), 'ADT-00', '%s: allergy kept from ADT-00' % p)
    eq(get(al, 0, 'also_in'), ['OMP-01'], '%s: allergy also in OMP-01' % p)
    o = order(rec, 'prescriptions', '200401000100003')
    rps = get(o, 'rps') or []
    eq([r.get('step') for r in rps], [{'n': 1, 'of': 3}, {'n': 2, 'of': 3}, {'n': 3, 'of': 3}],
       '%s: three escalation steps' % p)
    eq([(r.get('start'), r.get('days')) for r in rps],
       [('2020-04-01', '2'), ('2020-04-03', '3'), ('2020-04-06', '2')],
       '%s: escalation starts and days' % p)
    o = order(rec, 'prescriptions', '200410000100004')
    # each TQ1 names its timing with the meal relation (朝食後), which a bare 朝 would lose
    eq(timings(get(o, 'rps', 0, 'drugs', 0)),
       [(1, '朝食後', '4'), (2, '昼食後', '2'), (3, '夕食後', '1')],
       '%s: older 不均等 (one TQ1 per timing) per timing 朝食後4・昼食後2・夕食後1' % p)
    o = order(rec, 'prescriptions', '200420000100005')
    eq(timings(get(o, 'rps', 0, 'drugs', 0)), [(1, '朝', '2'), (2, '夕', '1')],
       '%s: V codes in TQ1-3 repetitions give per timing 朝2・夕1' % p)
    eq(get(o, 'rps', 0) and ('pattern' in o['rps'][0], o['rps'][0].get('pattern')), (True, None),
       '%s: V codes in TQ1-3 are no day pattern (pattern null)' % p)
    eq(get(o, 'rps', 0, 'usage_code'), '1012040400000000', '%s: usage from TQ1-3 rep 1' % p)


def patient_c(rec):
    """5550002004: OMP-02 with AL1 スギ and ハウスダスト; rate, start/end, times; no ADT-00."""
    p = 'C'
    eq(get(rec, 'patient', 'source'), 'OMP-02', '%s: patient from the OMP-02 PID' % p)
    eq(get(rec, 'patient', 'sex'), 'F', '%s: patient sex' % p)
    al = rec.get('allergies') or []
    eq(sorted(a.get('name') for a in al), ['スギ', 'ハウスダスト'],
       '%s: allergies of the injection order listed (never "none registered")' % p)
    eq(sorted(get(a, 'source', 'type') or '' for a in al), ['OMP-02', 'OMP-02'],
       '%s: allergy source type OMP-02' % p)
    o = order(rec, 'injections', '260824000200001')
    if not ok(o, '%s: injection order listed' % p):
        return
    rp = get(o, 'rps', 0) or {}
    eq((rp.get('rate'), rp.get('rate_per'), rp.get('rate_unit')), ('102', 'H1', 'ミリリッター／時間'),
       '%s: rate 102 ml/hr (RXE-22/23/24)' % p)
    eq((rp.get('start'), rp.get('end')), ('2026-08-24T08:00', '2026-08-24T13:00'),
       '%s: start and end times (TQ1-7/8)' % p)
    eq((rp.get('route'), rp.get('site')), ('IV', '右前腕'), '%s: route and site (RXR-1/2)' % p)
    eq(rp.get('type_name'), '一般', '%s: injection type (RXE-2 comp 2)' % p)
    eq(rp.get('instructions'), ['５時間一定速度で', '血圧低下が見られたら中止'],
       '%s: RXE-7 instructions, stop criterion included' % p)
    eq([(d.get('code'), d.get('dose'), d.get('unit'), d.get('role'))
        for d in rp.get('drugs') or []],
       [('999990001', '1', '本', 'B'), ('999990002', '1', 'アンプル', 'A')],
       '%s: RXC components with amounts and roles' % p)
    rp = get(o, 'rps', 1) or {}
    eq((rp.get('times'), rp.get('days'), rp.get('start')), (['09:00', '21:00'], '3', '2026-08-24'),
       '%s: explicit times (TQ1-4), days, start' % p)


def find_dropped(obj):
    """Every value of a key naming dropped fields anywhere in @obj."""
    out = []
    if isinstance(obj, dict):
        for k, v in obj.items():
            if 'dropped' in k and isinstance(v, int):
                out.append(v)
            out += find_dropped(v)
    elif isinstance(obj, list):
        for v in obj:
            out += find_dropped(v)
    return out


def scan(mamori, storage):
    run = subprocess.run([mamori, 'scan', '--storage', storage, '--json'], capture_output=True,
                         timeout=60)
    ok(run.returncode == 0, 'scan: exits 0 (no problem in the storage)', 'rc %d' % run.returncode)
    try:
        counts = find_dropped(json.loads(run.stdout))
    except ValueError:
        counts = []
    ok(counts and all(c == 0 for c in counts), 'scan: 0 fields dropped',
       'dropped counts %r' % counts if counts else 'scan --json has no dropped count')


def main():
    if len(sys.argv) != 3:
        print('usage: check.py MAMORI STORAGE', file=sys.stderr)
        return 2
    mamori, storage = sys.argv[1], sys.argv[2]
    for patient, fn in [('1000000001', jahis_example), ('5550002002', patient_a),
                        ('5550002003', patient_b), ('5550002004', patient_c)]:
        rec = show(mamori, storage, patient)
        if rec is not None:
            eq(rec.get('read_failures'), [], '%s: every file read' % patient)
            fn(rec)
    scan(mamori, storage)
    print('1..%d' % len(RESULTS))
    for i, (good, desc, why) in enumerate(RESULTS, 1):
        print('%s %d - %s%s' % ('ok' if good else 'not ok', i, desc, '' if good else '  # ' + why))
    return 0 if all(r[0] for r in RESULTS) else 1


if __name__ == '__main__':
    sys.exit(main())
