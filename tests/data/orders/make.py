#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
#
# Writes a small SS-MIX2 standardized storage whose order messages carry what issue 15 is about,
# for the browser test tests/browser/orders.test.mjs. Two invented patients (no real person):
#
#   9100000001 試験 一郎: ADT-00 (no AL1) and
#     - an OMP-01 prescription (order RX0001) with
#       Rp1 プレドニン錠５ｍｇ 不均等 朝4錠・昼2錠・夕1錠 (RXE-3 1, RXE-4 4, RXE-7 V14NNNNN~V22NNNNN~V31NNNNN,
#           RXE-19 7 錠), 7 days from today-3, and RXE-7 text 「血圧低下が見られたら中止」;
#       Rp2 ダーゼン錠 隔日 (TQ1-3 rep 2 I1100000) 7 days from today-2 (today is a dosing day);
#       Rp3 アムロジピン錠 月・木 (TQ1-3 rep 2 W0100100) 4 days from today-7;
#       Rp4 ロキソニン錠 頓用 (RXE-27 22, TQ1-9 PRN, TQ1-10 疼痛時, TQ1-11 1日2回まで, TQ1-14 10) from today-1;
#       Rp5 酸化マグネシウム 粉砕 (RXE-21) with RXE-8 filled (not interpreted: shown raw);
#       Rp6 ボルタレンゲル 外用 on 左手 (RXR-2), dispense 2 本 (RXE-10/11);
#     - an OMP-01 taper (order RX0002): プレドニゾロン錠 3 Rps, 3 / 2 / 1 tablets, starting
#       today-4 (2 days), today-2 (3 days), today+1 (3 days): step 2 is current today;
#     - an OMP-02 injection (order IN0001): ソルデム３Ａ 500 mL (base) + アドナ 50 mg (additive),
#       IV on 左手, at 10:00 and 22:00, from today 00:00 to tomorrow 23:59, 102 ml/hr, and two AL1
#       (スギ, ハウスダスト) inside the message;
#   9100000002 見本 花子: no ADT-00 at all; an OMP-01 (order RX0101) and an OML-11 (OUL^R22) result, both with
#     a PID (name, kana, birth date, sex).
#
# Files are ISO-2022-JP with CR segment separators, in the SS-MIX2 layout and names.
#
# usage: make.py --today YYYY-MM-DD OUT   (OUT/standard is the storage's root; also writes
#        OUT/expect.json: the dates the test needs)
import datetime
import json
import os
import sys

P1 = '9100000001'
P2 = '9100000002'
PROFILE = '||||||~ISO IR87||ISO2022-1994|SS-MIX2_1.20^SS-MIX2^1.2.392.200250.2.1.100.1.2.120^ISO'
DOCTOR = '1001^試験^医師^^^^^^^L^^^^^I'
USAGE_3 = '1013044400000000&内服・経口・１日３回朝昼夕食後&JAMISDP01'
USAGE_1 = '1013040400000000&内服・経口・１日１回朝食後&JAMISDP01'
USAGE_PRN = '1050110020000000&内服・経口・頓用・疼痛時&JAMISDP01'
USAGE_EXT = '2B74000000000000&外用・塗布・１日２回&JAMISDP01'


def seg(name, fields):
    """A segment from {field number: text} (fields not given are empty)."""
    n = max(fields)
    return '|'.join([name] + [fields.get(i, '') for i in range(1, n + 1)])


def rxe(code, dose, unit, dispense, rx_no, cls, daily=None, **more):
    """An RXE of a prescription line: RXE-2 drug, -3 dose, -5 unit, -6 form, -10/-11 dispense,
    -15 Rx number, -19 daily dose, -21 dispensing, -27 class; @more: other fields as f<n>."""
    f = {2: code, 3: str(dose), 5: unit, 6: 'TAB^錠剤^MR9P', 10: str(dispense), 11: unit, 15: rx_no,
         21: 'OHP^外来処方^MR9P', 27: cls}
    if daily is not None:
        f[19] = '%s^%s' % (daily, unit.replace('^', '&'))
    for k, v in more.items():
        f[int(k[1:])] = v
    return seg('RXE', f)


TAB = 'TAB^錠^MR9P'
INTERNAL = '21^内服^JHSP0003'
# order numbers (15 digits, as SS-MIX2 file names need them)
RX1, RX2, RX3 = '100000000000001', '100000000000002', '100000000000101'
IN1, LB3 = '200000000000001', '300000000000101'


def ymd(d):
    return d.strftime('%Y%m%d')


def msh(ts, msg_type, ctl):
    return 'MSH|^~\\&|HIS123|SEND|GW|RCV|%s||%s|%s|P|2.5%s' % (ts, msg_type, ctl, PROFILE)


def pid(p):
    if p == P1:
        return ('PID|0001||%s^^^^PI||試験^一郎^^^^^L^I~シケン^イチロウ^^^^^L^P||19500102|M|||'
                '^^^^999-0001^JPN^H^見本県見本市一丁目1番1号' % P1)
    return 'PID|0001||%s^^^^PI||見本^花子^^^^^L^I~ミホン^ハナコ^^^^^L^P||19620707|F' % P2


def orc(order, group, ts):
    return ('ORC|NW|%s||%s|||||%s|||%s||||01^内科^99XY1||||見本病院||||||O^外来患者オーダ^HL70482'
            % (order, group, ts, DOCTOR))


def rx_line(order, rp, ts, rxe, tq1, rxr='RXR|PO^口^HL70162'):
    return [orc(order, rp, ts), rxe, tq1, rxr]


def prescription(today):
    d = lambda n: ymd(today + datetime.timedelta(days=n))
    ts = d(-3) + '0900'
    segs = [msh(d(-3) + '090000.000', 'RDE^O11^RDE_O11', 'RX000100001'), pid(P1),
            'PV1|0001|O|01^^^^^C||||%s|||01' % DOCTOR]
    # Rp1: unequal doses per timing (JAHIS v3.0C: V codes in RXE-7), instruction text
    segs += rx_line(RX1, '1', ts,
                    rxe('620000001^プレドニン錠５ｍｇ^HOT9', 1, TAB, 49, 'RX0001-1', INTERNAL, daily=7,
                        f4='4', f7='V14NNNNN^不均等・１回目・４錠^JAMISDP01~V22NNNNN^不均等・２回目・２錠^JAMISDP01~'
                        'V31NNNNN^不均等・３回目・１錠^JAMISDP01~^血圧低下が見られたら中止^99IC6'),
                    'TQ1|1||%s|||7^D|%s' % (USAGE_3, d(-3)))
    # Rp2: every other day (interval I1100000), 7 dosing days
    segs += rx_line(RX1, '2', ts,
                    rxe('620000002^ダーゼン錠^HOT9', 1, TAB, 7, 'RX0001-2', INTERNAL, daily=1),
                    'TQ1|1||%s~I1100000&隔日投与&JAMISDP01|||7^D|%s' % (USAGE_1, d(-2)))
    # Rp3: Mondays and Thursdays (W0100100), 4 dosing days
    segs += rx_line(RX1, '3', ts,
                    rxe('620000003^アムロジピン錠５ｍｇ^HOT9', 1, TAB, 4, 'RX0001-3', INTERNAL, daily=1),
                    'TQ1|1||%s~W0100100&月曜日、木曜日&JAMISDP01|||4^D|%s' % (USAGE_1, d(-7)))
    # Rp4: as needed, with condition, daily maximum and total
    segs += rx_line(RX1, '4', ts,
                    rxe('620000004^ロキソニン錠６０ｍｇ^HOT9', 1, TAB, 10, 'RX0001-4', '22^頓用^JHSP0003'),
                    'TQ1|1||%s||||%s||PRN|疼痛時|1日2回まで|||10' % (USAGE_PRN, d(-1)))
    # Rp5: crushed (RXE-21), RXE-8 filled: a field the model does not interpret
    segs += rx_line(RX1, '5', ts,
                    rxe('620000005^酸化マグネシウム錠３３０ｍｇ^HOT9', 1, TAB, 21, 'RX0001-5', INTERNAL, daily=3,
                        f8='^^^^^^^^^本館薬局', f21='OHP^外来処方^MR9P~CRS^粉砕^99I01'),
                    'TQ1|1||%s|||7^D|%s' % (USAGE_3, d(-3)))
    # Rp6: external use on the left hand, dispense 2 tubes
    segs += rx_line(RX1, '6', ts,
                    rxe('620000006^ボルタレンゲル１％^HOT9', 1, 'HON^本^MR9P', 2, 'RX0001-6', '23^外用^JHSP0003',
                        f6='GEL^ゲル^MR9P'),
                    'TQ1|1||%s|||14^D|%s' % (USAGE_EXT, d(-3)),
                    'RXR|AP^外用^HL70162|LH^左手^HL70163')
    return segs


def taper(today):
    d = lambda n: ymd(today + datetime.timedelta(days=n))
    ts = d(-4) + '1000'
    segs = [msh(d(-4) + '100000.000', 'RDE^O11^RDE_O11', 'RX000200001'), pid(P1),
            'PV1|0001|O|01^^^^^C||||%s|||01' % DOCTOR]
    for rp, (dose, start, days) in enumerate([(3, -4, 2), (2, -2, 3), (1, 1, 3)], 1):
        segs += rx_line(RX2, str(rp), ts,
                        rxe('620000010^プレドニゾロン錠５ｍｇ^HOT9', dose, TAB, dose * days, 'RX0002-%d' % rp,
                            INTERNAL, daily=dose),
                        'TQ1|1||%s|||%d^D|%s' % (USAGE_1, days, d(start)))
    return segs


def injection(today):
    d = lambda n: ymd(today + datetime.timedelta(days=n))
    return [msh(d(0) + '000500.000', 'RDE^O11^RDE_O11', 'IN000100001'), pid(P1),
            'PV1|0001|I|5W^501^1^^^N||||%s|||01' % DOCTOR,
            'AL1|1|EA^環境^HL70127|J001^スギ^99ZAL',
            'AL1|2|EA^環境^HL70127|J002^ハウスダスト^99ZAL',
            'ORC|NW|%s||%s_01_001|||||%s0005|||%s|5W^501^1^^^N|||||01^内科^99XY1||||見本病院||||||'
            'I^入院患者オーダ^HL70482' % (IN1, IN1, d(0), DOCTOR),
            seg('RXE', {2: '00^一般^99I02', 3: '1', 5: 'HON^本^MR9P', 6: 'INJ^注射剤^MR9P',
                        7: '^血圧低下が見られたら中止^99IC6', 15: '%s-001' % d(0), 21: 'IHP^入院処方^MR9P',
                        22: 'H1', 23: '102', 24: 'ml/hr^ミリリットル／時間^ISO+'}),
            'TQ1|1|||1000~2200|||%s0000|%s2359' % (d(0), d(1)),
            'RXR|IV^静脈内^HL70162|LH^左手^HL70163',
            'RXC|B|630000001^ソルデム３Ａ輸液５００ｍＬ^HOT9|500|mL^mL^ISO+',
            'RXC|A|630000002^アドナ注５０ｍｇ^HOT9|50|mg^mg^ISO+']


def adt00(today):
    d = ymd(today - datetime.timedelta(days=30))
    return [msh(d + '090000.000', 'ADT^A08^ADT_A01', 'AD000000001'),
            'EVN||%s0900' % d, pid(P1), 'PV1|0001|O']


def other_patient(today):
    d = lambda n: ymd(today + datetime.timedelta(days=n))
    rx = [msh(d(-1) + '110000.000', 'RDE^O11^RDE_O11', 'RX010100001'), pid(P2),
          'PV1|0001|O|01^^^^^C||||%s|||01' % DOCTOR]
    rx += rx_line(RX3, '1', d(-1) + '1100',
                  rxe('620000020^ムコスタ錠１００ｍｇ^HOT9', 1, TAB, 21, 'RX0101-1', INTERNAL, daily=3),
                  'TQ1|1||%s|||7^D|%s' % (USAGE_3, d(-1)))
    lab = [msh(d(-1) + '150000.000', 'OUL^R22^OUL_R22', 'LB010100001'), pid(P2),
           'SPM|1|%s||023^血清^JC10|||||||||||||%s1000' % (LB3, d(-1)),
           'OBR|1|%s||3A010000002327101^ＡＬＴ^JC10|||%s1000|||||||||||||||%s1500||LAB|F'
           % (LB3, d(-1), d(-1)),
           'ORC|SC|%s|||CM||||%s1000|||%s' % (LB3, d(-1), DOCTOR),
           'OBX|1|NM|3B045000002327201^ＡＬＴ^JC10||25|U/L^U/L^ISO+|10-42|N|||F']
    return rx, lab


def encode(segs):
    return ('\r'.join(segs) + '\r').encode('iso2022_jp')


def files(today):
    """(relative path under the storage root, bytes) of every message."""
    def path(p, date, typ, order, ts, dept):
        name = '%s_%s_%s_%s_%s_%s_1' % (p, date, typ, order, ts, dept)
        return '%s/%s/%s/%s/%s/%s' % (p[:3], p[3:6], p, date, typ, name)
    d = lambda n: ymd(today + datetime.timedelta(days=n))
    rx2, lab2 = other_patient(today)
    return [
        (path(P1, '-', 'ADT-00', '999999999999999', d(-30) + '090000000', '-'), encode(adt00(today))),
        (path(P1, d(-3), 'OMP-01', RX1, d(-3) + '090000000', '01'), encode(prescription(today))),
        (path(P1, d(-4), 'OMP-01', RX2, d(-4) + '100000000', '01'), encode(taper(today))),
        (path(P1, d(0), 'OMP-02', IN1, d(0) + '000500000', '01'), encode(injection(today))),
        (path(P2, d(-1), 'OMP-01', RX3, d(-1) + '110000000', '01'), encode(rx2)),
        (path(P2, d(-1), 'OML-11', LB3, d(-1) + '150000000', '01'), encode(lab2)),
    ]


def main():
    args = sys.argv[1:]
    today = datetime.date.today()
    if len(args) >= 2 and args[0] == '--today':
        today = datetime.date.fromisoformat(args[1])
        args = args[2:]
    if len(args) != 1:
        sys.exit('usage: make.py [--today YYYY-MM-DD] OUT')
    out = args[0]
    for rel, data in files(today):
        p = os.path.join(out, 'standard', rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, 'wb') as f:
            f.write(data)
    iso = lambda n: (today + datetime.timedelta(days=n)).isoformat()
    with open(os.path.join(out, 'expect.json'), 'w') as f:
        json.dump({'today': iso(0), 'rp1_start': iso(-3), 'taper': [iso(-4), iso(-2), iso(1)],
                   'every_other_start': iso(-2), 'every_other_last': iso(-2 + 12), 'p2_source_date': iso(-1),
                   'injection_start': iso(0)}, f)
    return 0


if __name__ == '__main__':
    sys.exit(main())
