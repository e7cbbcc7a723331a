#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
#
# Writes the JAHIS example storage (tests/data/jahis/storage/): a standardized SS-MIX2 storage,
# ISO-2022-JP with CR segment separators, holding
#  1. the JAHIS 処方データ交換規約 Ver.3.0C 内服処方例 as copied (UTF-8, LF) from
#     skoba/HL7-FHIR-JP-WG (Apache-2.0) into skoba_HL7-FHIR-JP-WG/jahis-rx-3.0C-naifuku.hl7, here
#     only re-encoded (LF -> CR, UTF-8 -> ISO-2022-JP) and filed for its patient 1000000001;
#  2. mamori's own messages, invented patients 555000200x, for the JAHIS constructs no licensed
#     public example carries (see PROVENANCE.md): unequal doses (RXE-3/4/7 V codes, RXE-19; the
#     older form with one TQ1 per timing; V codes as TQ1-3 repetitions), day patterns (TQ1-3
#     repetition 2: I1100000 隔日, W0100100 月・木), a three-step escalation (zenzou), PRN with its
#     maximum and total, dispense amounts, a site (左手), RXE-7 instruction text, NTE, AL1 inside
#     OMP-01 and OMP-02, injections with rate, start/end times and explicit times, patients
#     with and without ADT-00.
# The committed bytes are what this script writes; the lint test `jahis-storage-reproducible`
# (--check) requires the files under storage/ to be exactly those it would write, no more.
#
# usage: make-storage.py [--check] [DIR]   (DIR defaults to storage/ beside this script)
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
COPIED = os.path.join(HERE, 'skoba_HL7-FHIR-JP-WG', 'jahis-rx-3.0C-naifuku.hl7')

PROFILE = '||||||~ISO IR87||ISO2022-1994|SS-MIX2_1.20^SS-MIX2^1.2.392.200250.2.1.100.1.2.120^ISO'
HOSPITAL = ['見本病院', '^^^^999-9999^JPN^^見本県見本市本町9丁目9番9号', '^^^^^^^^^^^000-0000-0002']
DOCTOR = '5678^見本^医師^^^^^^^L^^^^^I'
DEPT = '01^内科^99Z01'
OUTPATIENT = 'OHP^外来処方^MR9P~OHI^院内処方^MR9P'
INPATIENT = 'IHP^入院処方^MR9P~FTP^定時処方^99I01'
TAB = 'TAB^錠^MR9P'
PO = 'RXR|PO^口^HL70162'

# JAMI 標準用法 (16 digits) and 補足用法 (8 characters) codes as the JAMI examples write them
ASA = '1011000400000000&内服・経口・１日１回朝食後&JAMISDP01'
HIRU = '1011004000000000&内服・経口・１日１回昼食後&JAMISDP01'
YU = '1011040000000000&内服・経口・１日１回夕食後&JAMISDP01'
ASAYU = '1012040400000000&内服・経口・１日２回朝夕食後&JAMISDP01'
SANKAI = '1013044400000000&内服・経口・１日３回朝昼夕食後&JAMISDP01'
TOUTSU = '1050110020000000&内服・経口・疼痛時&JAMISDP01'
TOFU = '2B74000000000000&外用・塗布・１日４回&JAMISDP01'
KAKUJITSU = 'I1100000&隔日投与&JAMISDP01'
GETSU_MOKU = 'W0100100&月曜日、木曜日&JAMISDP01'


def seg(name, fields):
    """@name|f1|f2|... from a {position: text} map (positions 1-based, gaps empty)."""
    last = max(fields) if fields else 0
    return '|'.join([name] + [fields.get(i, '') for i in range(1, last + 1)])


def msh(when, control):
    return 'MSH|^~\\&|HIS|SEND|GW|RCV|%s||RDE^O11^RDE_O11|%s|P|2.5%s' % (when, control, PROFILE)


def pid(patient):
    pid_no, name, kana, birth, sex, addr = patient
    return seg('PID', {1: '0001', 3: pid_no + '^^^^PI', 5: '%s^^^^^L^I~%s^^^^^L^P' % (name, kana),
                       7: birth, 8: sex, 11: '^^^^999-9999^JPN^H^' + addr,
                       13: '^PRN^PH^^^^^^^^^000-0000-0009'})


def orc(order, group, when, kind):
    """ORC of one Rp: @kind O (外来) or I (入院)."""
    label = 'O^外来患者オーダ^HL70482' if kind == 'O' else 'I^入院患者オーダ^HL70482'
    return seg('ORC', {1: 'NW', 2: order, 4: '%s_%02d' % (order, group), 9: when, 12: DOCTOR,
                       17: DEPT, 21: HOSPITAL[0], 22: HOSPITAL[1], 23: HOSPITAL[2], 29: label})


def rxe(f):
    return seg('RXE', f)


def tq1(f):
    return seg('TQ1', f)


A = ('5550002002', '見本^一郎', 'ミホン^イチロウ', '19500601', 'M', '見本県見本市中央2丁目3番4号')
B = ('5550002003', '見本^次郎', 'ミホン^ジロウ', '19480210', 'M', '見本県見本市中央5丁目6番7号')
C = ('5550002004', '見本^花子', 'ミホン^ハナコ', '19621103', 'F', '見本県見本市東町1丁目1番1号')
PENICILLIN = 'AL1|1|DA^薬剤アレルギー^HL70127|1^ペニシリン^99XYZ|MO^中等度^HL70128|発疹|20150401'


def a_rx_0821():
    """Patient A (no ADT-00), outpatient order of 2026-08-21: 不均等, 隔日, 頓用, 外用 with site."""
    o, w = '260821000100001', '20260821093000'
    return [
        msh('20260821093512.000', '0000000000300001'), pid(A),
        'PV1|0001|O|01^^^^^C||||%s|||01' % DOCTOR,
        PENICILLIN,
        # Rp1 不均等: 朝4錠・昼2錠・夕1錠 (RXE-3 smallest, RXE-4 largest, RXE-7 V codes, RXE-19 7錠)
        orc(o, 1, w, 'O'),
        rxe({2: '105271807^プレドニン錠５ｍｇ^HOT', 3: '1', 4: '4', 5: TAB, 6: TAB,
             7: 'V14NNNNN^不均等・１回目・４錠^JAMISDP01~V22NNNNN^不均等・２回目・２錠^JAMISDP01'
                '~V31NNNNN^不均等・３回目・１錠^JAMISDP01',
             10: '49', 11: TAB, 19: '7^TAB&錠&MR9P', 21: OUTPATIENT, 27: '21^内服^JHSP0003'}),
        tq1({3: SANKAI, 6: '7^D&日&ISO+', 7: '20260821'}), PO,
        # Rp2 隔日投与 (TQ1-3 repetition 2), 7 dosing days, crushed (RXE-21 粉砕)
        orc(o, 2, w, 'O'),
        rxe({2: '108665201^ダーゼン錠５ｍｇ^HOT', 3: '1', 5: TAB, 6: TAB, 10: '7', 11: TAB,
             19: '1^TAB&錠&MR9P', 21: OUTPATIENT + '~CRS^粉砕^99Z02', 27: '21^内服^JHSP0003'}),
        tq1({3: ASA + '~' + KAKUJITSU, 6: '7^D&日&ISO+', 7: '20260821'}), PO,
        # Rp3 頓用: 疼痛時, 1日2回まで, 10回分
        orc(o, 3, w, 'O'),
        rxe({2: '100795402^ボルタレン錠２５ｍｇ^HOT', 3: '1', 5: TAB, 10: '10', 11: TAB,
             21: OUTPATIENT, 27: '22^頓用^JHSP0003'}),
        tq1({3: TOUTSU, 7: '20260821', 9: 'PRN', 10: '疼痛時', 11: '1日2回まで', 14: '10'}), PO,
        # Rp4 外用: no dose (HL7 null), 2本, 左手, a note (NTE) not interpreted
        orc(o, 4, w, 'O'),
        rxe({2: '106238001^ジフラール軟膏０．０５％^HOT', 3: '""', 5: '""', 6: 'OIT^軟膏^MR9P',
             10: '2', 11: 'HON^本^MR9P', 21: OUTPATIENT, 27: '23^外用^JHSP0003'}),
        tq1({3: TOFU, 7: '20260821'}),
        'RXR|AP^外用^HL70162|77L^左手^JAMISDP01',
        'NTE|1||入浴後に薄く塗布',
    ]


def a_rx_0825():
    """Patient A, order of 2026-08-25: 曜日指定 (月曜日、木曜日), modelled on JAMI youbiShiitei."""
    o, w = '260825000100002', '20260825101500'
    return [
        msh('20260825101733.000', '0000000000300002'), pid(A),
        'PV1|0001|O|01^^^^^C||||%s|||01' % DOCTOR,
        orc(o, 1, w, 'O'),
        rxe({2: '105271807^プレドニン錠５ｍｇ^HOT', 3: '1', 5: TAB, 6: TAB, 10: '7', 11: TAB,
             19: '1^TAB&錠&MR9P', 21: OUTPATIENT, 27: '21^内服^JHSP0003'}),
        tq1({3: ASA + '~' + GETSU_MOKU, 6: '7^D&日&ISO+', 7: '20260827'}), PO,
    ]


def b_adt00():
    """Patient B's ADT-00 (ADT^A08) with the same penicillin allergy as his OMP-01."""
    return [
        'MSH|^~\\&|HIS|SEND|GW|RCV|20200331090000.000||ADT^A08^ADT_A01|0000000000300003|P|2.5'
        + PROFILE,
        'EVN||202003310900', pid(B), 'PV1|0001|O', PENICILLIN,
    ]


def b_rx_taper():
    """Patient B, order of 2020-04-01: ペルマックス 1→2→3錠/日, modelled on JAMI zenzou01..03per03."""
    o, w = '200401000100003', '20200401090000'
    drug = '101230902^ペルマックス錠５０μｇ^HOT'
    out = [msh('20200401091045.000', '0000000000300004'), pid(B),
           'PV1|0001|O|01^^^^^C||||%s|||01' % DOCTOR, PENICILLIN]
    for rp, usage, days, start, dispense, daily in [(1, YU, '2', '20200401', '2', '1'),
                                                   (2, ASAYU, '3', '20200403', '6', '2'),
                                                   (3, SANKAI, '2', '20200406', '6', '3')]:
        out += [orc(o, rp, w, 'O'),
                rxe({2: drug, 3: '1', 5: TAB, 6: TAB, 10: dispense, 11: TAB,
                     19: daily + '^TAB&錠&MR9P', 21: OUTPATIENT, 27: '21^内服^JHSP0003'}),
                tq1({3: usage, 6: days + '^D&日&ISO+', 7: start}), PO]
    return out


def b_rx_old_unequal():
    """Patient B, order of 2020-04-10: 不均等 in the older form, one TQ1 per timing (TQ1-2)."""
    o, w = '200410000100004', '20200410090000'
    out = [msh('20200410091210.000', '0000000000300005'), pid(B),
           'PV1|0001|O|01^^^^^C||||%s|||01' % DOCTOR, orc(o, 1, w, 'O'),
           rxe({2: '105271807^プレドニン錠５ｍｇ^HOT', 3: '1', 4: '4', 5: TAB, 6: TAB, 10: '49',
                11: TAB, 19: '7^TAB&錠&MR9P', 21: OUTPATIENT, 27: '21^内服^JHSP0003'})]
    for n, qty, usage in [(1, '4', ASA), (2, '2', HIRU), (3, '1', YU)]:
        out.append(tq1({1: str(n), 2: qty + '^TAB&錠&MR9P', 3: usage, 6: '7^D&日&ISO+',
                        7: '20200410'}))
    return out + [PO]


def b_rx_tq1_unequal():
    """Patient B, order of 2020-04-20: 不均等 朝2・夕1 with the V codes as TQ1-3 repetitions."""
    o, w = '200420000100005', '20200420090000'
    return [msh('20200420091520.000', '0000000000300007'), pid(B),
            'PV1|0001|O|01^^^^^C||||%s|||01' % DOCTOR, orc(o, 1, w, 'O'),
            rxe({2: '105271807^プレドニン錠５ｍｇ^HOT', 3: '1', 4: '2', 5: TAB, 6: TAB, 10: '21',
                 11: TAB, 19: '3^TAB&錠&MR9P', 21: OUTPATIENT, 27: '21^内服^JHSP0003'}),
            tq1({3: ASAYU + '~V12NNNNN&不均等・１回目・２錠&JAMISDP01'
                 '~V21NNNNN&不均等・２回目・１錠&JAMISDP01', 6: '7^D&日&ISO+', 7: '20200420'}), PO]


def c_inj():
    """Patient C (no ADT-00), inpatient injections of 2026-08-24 carrying allergies (AL1)."""
    o, w = '260824000200001', '20260824070000'
    return [
        msh('20260824071502.000', '0000000000300006'), pid(C),
        'PV1|0001|I|05W^512^1^^^N||||%s|||01' % DOCTOR,
        'AL1|1|LA^花粉アレルギー^HL70127|^スギ^99XYZ|MI^軽症^HL70128|くしゃみ',
        'AL1|2|EA^環境アレルギー^HL70127|^ハウスダスト^99XYZ|MI^軽症^HL70128|鼻水',
        # Rp1: drip 510 mL at 102 mL/h from 08:00 to 13:00, with a stop criterion (RXE-7)
        orc(o, 1, w, 'I'),
        rxe({2: '00^一般^99I02', 3: '510', 5: 'ML^ミリリットル^MR9P', 6: 'INJ^注射剤^MR9P',
             7: '^５時間一定速度で^99IC6~^血圧低下が見られたら中止^99IC6', 21: INPATIENT,
             22: 'H1', 23: '102', 24: 'ml/hr^ミリリッター／時間^ISO+'}),
        tq1({1: '1', 7: '202608240800', 8: '202608241300'}),
        'RXR|IV^静脈内^HL70162|RFA^右前腕^99XYZ|IVP^点滴ポンプ^HL70164',
        'RXC|B|999990001^見本輸液５００ｍＬ^HOT9|1|HON^本^MR9P',
        'RXC|A|999990002^見本注射液５０ｍｇ^HOT9|1|AMP^アンプル^MR9P',
        # Rp2: twice a day at 09:00 and 21:00 for 3 days
        orc(o, 2, w, 'I'),
        rxe({2: '00^一般^99I02', 3: '100', 5: 'ML^ミリリットル^MR9P', 6: 'INJ^注射剤^MR9P',
             21: INPATIENT}),
        tq1({1: '1', 4: '0900~2100', 6: '3^D&日&ISO+', 7: '20260824'}),
        'RXR|IV^静脈内^HL70162',
        'RXC|B|999990003^見本生理食塩液１００ｍＬ^HOT9|1|KIT^キット^MR9P',
        'RXC|A|999990004^見本抗菌薬注射用１ｇ^HOT9|1|VIL^バイアル^MR9P',
    ]


def encode(segments):
    return ('\r'.join(segments) + '\r').encode('iso2022_jp')


def copied():
    """The copied JAHIS example, re-encoded: LF -> CR, UTF-8 -> ISO-2022-JP."""
    with open(COPIED, 'rb') as f:
        text = f.read().decode('utf-8')
    return text.replace('\n', '\r').encode('iso2022_jp')


def path(patient, date, kind, order, stamp, dept):
    p = patient
    return '%s/%s/%s/%s/%s/%s_%s_%s_%s_%s_%s_1' % (p[0:3], p[3:6], p, date, kind, p, date, kind,
                                                  order, stamp, dept)


def files():
    """(relative path, bytes) of every file of the storage."""
    a, b, c = A[0], B[0], C[0]
    return [
        (path('1000000001', '20160825', 'OMP-01', '000000012345678', '20160821161523000', '01'),
         copied()),
        (path(a, '20260821', 'OMP-01', '260821000100001', '20260821093512000', '01'),
         encode(a_rx_0821())),
        (path(a, '20260825', 'OMP-01', '260825000100002', '20260825101733000', '01'),
         encode(a_rx_0825())),
        (path(b, '-', 'ADT-00', '999999999999999', '20200331090000000', '-'), encode(b_adt00())),
        (path(b, '20200401', 'OMP-01', '200401000100003', '20200401091045000', '01'),
         encode(b_rx_taper())),
        (path(b, '20200410', 'OMP-01', '200410000100004', '20200410091210000', '01'),
         encode(b_rx_old_unequal())),
        (path(b, '20200420', 'OMP-01', '200420000100005', '20200420091520000', '01'),
         encode(b_rx_tq1_unequal())),
        (path(c, '20260824', 'OMP-02', '260824000200001', '20260824071502000', '01'),
         encode(c_inj())),
    ]


def check(out):
    """Compare the files under @out with what files() gives; print each difference."""
    want = dict(files())
    have = set()
    bad = 0
    for root, _, names in os.walk(out):
        for name in names:
            have.add(os.path.relpath(os.path.join(root, name), out))
    for rel in sorted(have - set(want)):
        print('%s: not written by make-storage.py' % rel)
        bad += 1
    for rel, data in sorted(want.items()):
        if rel not in have:
            print('%s: missing' % rel)
            bad += 1
            continue
        with open(os.path.join(out, rel), 'rb') as f:
            if f.read() != data:
                print('%s: differs from what make-storage.py writes' % rel)
                bad += 1
    print('%d storage files, %d problems' % (len(want), bad))
    return 1 if bad else 0


def main():
    args = sys.argv[1:]
    checking = bool(args) and args[0] == '--check'
    if checking:
        args = args[1:]
    out = args[0] if args else os.path.join(HERE, 'storage')
    if checking:
        return check(out)
    for rel, data in files():
        dest = os.path.join(out, rel)
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        with open(dest, 'wb') as f:
            f.write(data)
    return 0


if __name__ == '__main__':
    sys.exit(main())
