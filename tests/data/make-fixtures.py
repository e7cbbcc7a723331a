#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
#
# Writes mamori's own SS-MIX2 sample fixtures (tests/data/ssmix2-samples/fixtures/): an invented
# patient (5550001234, no real person, no ADT-00) with one standardized bacteria-culture result
# (OUL^R22), an injection order whose AL1 segments carry allergies (RDE^O11) and two
# extended-storage vital-sign messages (ORU^R30). They reproduce the quirks of public
# samples that carry no licence and so cannot be copied (see ssmix2-samples/PROVENANCE.md):
# ISO-2022-JP text with CR segment separators, CWE organisms with JANIS-style codes, NTE
# segments, a 15-digit time stamp in a standardized file name, files with and without a final
# CR, 6-field extended content-folder names (no department code) keyed by a zero-padded date
# and by YYYYMMDDHH, MSH-7 with fractional seconds, a trailing blank in ORC-29, a blank before
# a coding system, an HL7 null ("") as OBR-4 and a 16-digit observation code.
# The committed bytes are what this script writes; the lint test `fixtures-reproducible`
# (--check) requires the files in the folder to be exactly those it would write, no more.
#
# usage: make-fixtures.py [--check] [DIR]   (DIR defaults to ssmix2-samples/fixtures beside
#        this script; --check compares instead of writing and exits 1 on any difference)
import os
import sys

PID = '5550001234'
PID_NAME = '試験^花子^^^^^L^I~シケン^ハナコ^^^^^L^P'
ADDRESS = '^^^^999-9999^JPN^H^見本県見本市中央1丁目2番3号'
HOSPITAL = '見本病院|^^^^999-9999^JPN^H^見本県見本市本町9丁目9番9号|^^^^^^^^^^^000-0000-0002'
DOCTOR = '5678^見本医師^^^^^^^^L^^^^^I'
PROFILE = '||||||~ISO IR87||ISO2022-1994|SS-MIX2_1.20^SS-MIX2^1.2.392.200250.2.1.100.1.2.120^ISO'


def pid_segment(updated):
    return ('PID|0001||%s^^^^PI||%s||19700315|F|||%s||^PRN^PH^^^^^^^^^000-0000-0000|'
            '^WPN^PH^^^^^^^^^000-0000-0001||||||||||||||||||%s' % (PID, PID_NAME, ADDRESS, updated))


def msh(when, msg_type, control):
    return 'MSH|^~\\&|HIS|SEND|GW|RCV|%s||%s|%s|P|2.5%s' % (when, msg_type, control, PROFILE)


def culture():
    """The standardized OUL^R22 bacteria-culture result: two organisms, each with a quantity."""
    organism = '6B010000001774214^培養同定(一般細菌)菌名判定^JC10'
    amount = '6B010000001774211^培養同定(一般細菌)菌量^JC10'
    return [
        msh('20190315103045678', 'OUL^R22^OUL_R22', '0000000000200001'),
        pid_segment('20180401090000'),
        'NTE|||培養同定依頼（尿）',
        'SPM|1|190312000123401||019^尿^JC10||||||採取部位||10.0^mL&mL&L99U01|||||201903120730'
        '||||||||062^滅菌スピッツ^L',
        'OBR|1|190312000123400|190312987654321|6B0100000017742^培養同定(一般細菌)^JC10|R|'
        '201903120700|201903120730|||99-9^SAMPLE&COLLECTOR|N|||201903120900||'
        '4321^TEST^DOCTOR^^^^MD^^^L|X0000|||||201903151030||MB|F',
        # ORC-29 ends with a blank, as in the public sample
        'ORC|SC|190312000123400|190312987654321||CM||||201903110900|||%s|05W^12^03^^^N||||'
        '02^外科^HL70069||||%s||||||I^入院患者オーダ^HL70482 ' % (DOCTOR, HOSPITAL),
        'NTE|||同定結果',
        'OBX|1|CWE|%s|1|3101^K.pneumoniae^JANIS|||A|||F' % organism,
        'OBX|2|ST|%s|1|(3+)|||A|||F' % amount,
        'OBX|3|CWE|%s|2|1402^E.faecalis^JANIS|||A|||F' % organism,
        'OBX|4|ST|%s|2|(1+)|||A|||P' % amount,
    ]


def fields(seg_id, values):
    """A segment from {field number: value}, the fields between them empty."""
    last = max(values)
    return '|'.join([seg_id] + [values.get(i, '') for i in range(1, last + 1)])


def injection():
    """A standardized RDE^O11 injection order (JAHIS 注射データ交換規約) whose AL1 segments carry
    the patient's allergies: allergies may come in any message, not only in ADT-61 (issue 15)."""
    order = '190310000123500'
    return [
        msh('20190310091500000', 'RDE^O11^RDE_O11', '0000000000200004'),
        pid_segment('20180401090000'),
        'PV1|0001|I|05W^12^03^^^N||||%s|||02' % DOCTOR,
        'AL1|1|LA^花粉アレルギー^HL70127|5A1002216023023^スギ^JC10|MI^軽度^HL70128|目のかゆみ',
        'AL1|2|EA^環境アレルギー^HL70127|5A1102700023023^ハウスダスト^JC10|MI^軽度^HL70128|くしゃみ',
        fields('ORC', {1: 'NW', 2: order, 4: '1', 9: '201903100900', 12: DOCTOR,
                       13: '05W^12^03^^^N', 17: '02^外科^HL70069', 21: HOSPITAL.split('|')[0],
                       22: HOSPITAL.split('|')[1], 23: HOSPITAL.split('|')[2],
                       29: 'I^入院患者オーダ^HL70482'}),
        fields('RXE', {2: 'IVI^点滴静注^JHSI0001', 3: '1', 5: 'KIT^キット^MR9P', 10: '1',
                       11: 'KIT^キット^MR9P', 23: '100', 24: 'ml/hr^ml/hr^ISO+'}),
        fields('TQ1', {1: '1', 7: '201903101000', 8: '201903101500'}),
        'RXR|IV^静脈内^HL70162',
        'RXC|B|620004561^生理食塩液５００ｍＬ^HOT9|500|mL^mL^ISO+',
        'RXC|A|620007236^アンピシリン静注用１ｇ^HOT9|1|g^g^ISO+',
    ]


# (code, name, unit, range) of the five vital signs; the blank before ISO+ in the systolic
# unit and the 16-digit temperature code are quirks of the public sample, kept on purpose
VITALS = [
    ('9A761000000000001', '拡張期血圧（1回目）', 'mm(hg)^mmHg^ISO+', '<85'),
    ('9A751000000000001', '収縮期血圧（1回目）', 'mm(hg)^mmHg^ ISO+', '<130'),
    ('9P300000000000001', '脈拍（測定部位記載なし、または不明）', '(hb)^回／１分^ISO+', '50-90'),
    ('9P200000000000001', '呼吸数（観察または聴診）', '/min^回／１分^ISO+', '12-16'),
    ('9P10000000000001', '体温（体温計による腋窩（記載なしを含む））', 'cel^℃^ISO+', '35.5-37.5'),
]


def obx_vitals(readings):
    """OBX segments for @readings: (time, [five values], {index: flag})."""
    out = []
    for when, values, flags in readings:
        for i, (code, name, unit, rng) in enumerate(VITALS):
            out.append('OBX|%d|NM|%s^%s^JC10||%s|%s|%s|%s|||F|||%s'
                       % (len(out) + 1, code, name, values[i], unit, rng, flags.get(i, ''), when))
    return out


def vitals_day():
    """Extended ORU^R30 keyed by the date (zero-padded): one file for the whole day."""
    key = '000000020210304'
    return [
        msh('20210305000100.158', 'ORU^R30^ORU_R30', '0000000000200002'),
        pid_segment('20200401090000'),
        'PV1|0001|I|05W^12^03^^^N||||%s||||||||||6789^試験医師^^^^^^^^L^^^^^I' % DOCTOR,
        'ORC|SC|%s|210304556677001||CM||||202103040700|||%s|05W^12^03^^^N||||02^外科^HL70069||||'
        '%s||||||I^入院患者オーダ^HL70482 ' % (key, DOCTOR, HOSPITAL),
        'OBR|1|%s|210304556677001|01^バイタル^99ABC|||202103040700|202103042100||||||||%s||||||'
        '20210305000100' % (key, DOCTOR),
    ] + obx_vitals([
        ('202103040700', ['62', '118', '72', '16', '36.4'], {}),
        ('202103041400', ['70', '126', '94', '18', '37.9'], {2: 'H', 4: 'H'}),
        ('202103042100', ['66', '121', '80', '15', '37.1'], {}),
    ])


def vitals_hour():
    """Extended ORU^R30 keyed by YYYYMMDDHH: one file per measuring round, no OBR-4 ("")."""
    key = '000002021030415'
    return [
        msh('202103041500.321', 'ORU^R30^ORU_R30', '0000000000200003'),
        pid_segment('20200401090000'),
        'PV1|0001|I|05W^12^03^^^N||||%s||||||||||6789^試験医師^^^^^^^^L^^^^^I' % DOCTOR,
        'ORC|SC|%s|210304556677002||CM||||202103041500|||%s|05W^12^03^^^N||||02^外科^HL70069||||'
        '%s||||||I^入院患者オーダ^HL70482' % (key, DOCTOR, HOSPITAL),
        'OBR|1|%s|210304556677002|""|||202103041500|202103041500||||||||%s||||||202103041500'
        % (key, DOCTOR),
    ] + obx_vitals([('202103041500', ['74', '131', '102', '20', '38.2'],
                     {1: 'H', 2: 'H', 3: 'H', 4: 'H'})])


def encode(segments, final_cr):
    text = '\r'.join(segments) + ('\r' if final_cr else '')
    return text.encode('iso2022_jp')


def files():
    """(relative path, bytes) of every fixture."""
    folder = '555/000/' + PID
    ext_type = 'L-OBSERVATIONS^OBSERVATIONS^99ZL01'
    ext = 'extended_root/%s/20210304/%s/' % (folder, ext_type)
    return [
        # 15-digit time stamp (the spec says 17), no final CR
        ('standard_root/%s/20190312/OML-11/%s_20190312_OML-11_190312000123400_201903151030456_01_1'
         % (folder, PID), encode(culture(), False)),
        # an injection order with allergies in AL1, older than the culture result
        ('standard_root/%s/20190310/OMP-02/%s_20190310_OMP-02_190310000123500_20190310091500000_01_1'
         % (folder, PID), encode(injection(), True)),
        # 6-field content folder names (no department code); the first has no final CR
        (ext + '%s_20210304_%s_000000020210304_202103050001158_1/main_document.hl7' % (PID, ext_type),
         encode(vitals_day(), False)),
        (ext + '%s_20210304_%s_000002021030415_202103041500321_1/main_document.hl7' % (PID, ext_type),
         encode(vitals_hour(), True)),
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
        print('%s: not written by make-fixtures.py' % rel)
        bad += 1
    for rel, data in sorted(want.items()):
        path = os.path.join(out, rel)
        if rel not in have:
            print('%s: missing' % rel)
            bad += 1
            continue
        with open(path, 'rb') as f:
            if f.read() != data:
                print('%s: differs from what make-fixtures.py writes' % rel)
                bad += 1
    print('%d fixture files, %d problems' % (len(want), bad))
    return 1 if bad else 0


def main():
    args = sys.argv[1:]
    checking = bool(args) and args[0] == '--check'
    if checking:
        args = args[1:]
    here = os.path.dirname(os.path.abspath(__file__))
    out = args[0] if args else os.path.join(here, 'ssmix2-samples', 'fixtures')
    if checking:
        return check(out)
    for rel, data in files():
        path = os.path.join(out, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, 'wb') as f:
            f.write(data)
    return 0


if __name__ == '__main__':
    sys.exit(main())
