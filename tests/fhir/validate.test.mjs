// SPDX-License-Identifier: Apache-2.0
/*
 * The FHIR export (issue 21) checked by FHIR tools, TAP, on the path a user takes: a generated
 * storage (mamori-gen, 20 patients, 120 days, extended, seed 5: it has updates and cancels) is
 * backed up with `mamori init` + `mamori backup` (cache, audit and home folders of the test's
 * own), and `mamori export --all --fhir` writes the Bundles (fhir/index.csv names them). Then:
 *   - every Bundle validates against the FHIR R4 structure definitions (npm `fhir`), and every
 *     resource type the export writes appears at least once;
 *   - the JP Core v1.1.2 rules that matter, in FHIRPath (npm `fhirpath`, R4 model): identifier
 *     and code systems, required elements and cardinalities, meta.profile and meta.source (the
 *     repository's ID, the generation, a current file of the patient in the storage), every
 *     reference resolving inside its Bundle, every subject the Bundle's own Patient;
 *   - the content against the generator's truth: demographics, diagnoses, allergies, every
 *     prescription and injection line, labs, administrations, encounters, documents; no
 *     resource from a superseded (_2) or cancelled (_0) file, no cancelled order, no other
 *     patient's ID, name or folder;
 *   - documents and images embedded as Binary with the original bytes (the driver reads the
 *     restored extended storage): every file of every content folder, compared with the
 *     storage's file;
 *   - IDs: two exports of the generation write the same Bundles byte for byte, and after
 *     `mamori-gen advance` and a second backup every resource whose file is still current keeps
 *     its ID;
 *   - a damaged file (`mamori-gen damage`, then a third backup): the export says so (exit 3,
 *     OperationOutcome naming the data type, not the patient) and the Bundle stays valid;
 *   - the public samples' facts (tests/data/ssmix2-samples backed up and exported; PROVENANCE.md,
 *     test_record.c).
 * Skips (TAP SKIP) only when tests/fhir/node_modules is missing (`make deps`).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const { MAMORI, MAMORI_GEN, SAMPLES } = process.env;
if (!fs.existsSync(path.join(HERE, 'node_modules', 'fhir', 'package.json')) ||
    !fs.existsSync(path.join(HERE, 'node_modules', 'fhirpath', 'package.json'))) {
    /* TAP's skip of the whole plan (meson counts it as skipped; an exit code 77 is an error) */
    console.log('1..0 # SKIP tests/fhir/node_modules is missing (run make deps, or npm ci in tests/fhir)');
    process.exit(0);
}
if (!MAMORI || !MAMORI_GEN || !SAMPLES) {
    console.log('1..0 # SKIP set MAMORI, MAMORI_GEN and SAMPLES');
    process.exit(0);
}
const require = createRequire(import.meta.url);
const { Fhir } = require('fhir');
const fhirpath = require('fhirpath');
const r4 = require('fhirpath/fhir-context/r4');

// ---------- TAP ----------

let n = 0, failed = 0;
function ok(cond, what, detail) {
    n++;
    if (!cond) {
        failed++;
    }
    console.log(`${cond ? 'ok' : 'not ok'} ${n} - ${what}`);
    if (!cond && detail !== undefined) {
        console.log('# ' + JSON.stringify(detail).slice(0, 1500));
    }
}
const note = (s) => console.log('# ' + s);

// ---------- the fixture ----------

const TMP = fs.mkdtempSync(path.join(os.tmpdir(), 'mamori-fhir-'));
const env = {
    ...process.env, MAMORI_PASSPHRASE: 'エクスポート試験 correct horse 21',
    MAMORI_AUDIT_DIR: path.join(TMP, 'audit'), XDG_CACHE_HOME: path.join(TMP, 'cache'),
    MAMORI_CACHE: path.join(TMP, 'cache', 'mamori'), MAMORI_LANG: 'en', HOME: path.join(TMP, 'home'),
    TZ: 'Asia/Tokyo', MAMORI_VIEWER_COPY: '0',
};
delete env.MAMORI_NEW_PASSPHRASE;
fs.mkdirSync(env.MAMORI_AUDIT_DIR);
fs.mkdirSync(env.HOME);
function bail(what) {
    console.log(`Bail out! ${what}`);
    if (!process.env.KEEP_TMP) {
        fs.rmSync(TMP, { recursive: true, force: true });
    }
    process.exit(2);
}
/* Run @bin; its exit status must be one of @rcs. @return { rc, stdout, stderr } */
function runRc(bin, args, rcs = [0]) {
    const p = spawnSync(bin, args, { env, encoding: 'utf8', maxBuffer: 1 << 30, stdio: ['ignore', 'pipe', 'pipe'] });
    if (!rcs.includes(p.status)) {
        bail(`${path.basename(bin)} ${args[0]} exited ${p.status}: ${(p.stderr || '').slice(0, 2000)}`);
    }
    return { rc: p.status, stdout: p.stdout, stderr: p.stderr };
}
const run = (bin, args) => runRc(bin, args).stdout;
const FACILITY = '1234567890';
const KDF = ['--kdf-passes', '1', '--kdf-memory', '1', '--allow-weak-secrets'];

/*
 * `mamori export --fhir` of repository @repo into a new folder: { bundles: {patient ID: {text,
 * json}} as fhir/index.csv names them, summary (the --json output), rc }. @args: more options
 * (--generation, --patient; --all when no --patient); @rcs the exit statuses allowed.
 */
let nOut = 0;
function mexport(repo, args = [], rcs = [0]) {
    const out = path.join(TMP, `out${++nOut}`);
    const who = args.includes('--patient') ? [] : ['--all'];
    const p = runRc(MAMORI, ['export', '--repo', repo, ...who, ...args, '--fhir', '--facility', FACILITY, '--out', out, '--json'], rcs);
    const idx = fs.readFileSync(path.join(out, 'fhir', 'index.csv'), 'utf8');
    const bundles = {};
    if (!idx.startsWith('\uFEFFpatient_id,file\r\n')) {
        bail('fhir/index.csv: no BOM or header');
    }
    for (const line of idx.slice(1).split('\r\n').slice(1).filter((l) => l)) {
        const [pid, file] = line.split(',');
        const text = fs.readFileSync(path.join(out, 'fhir', file), 'utf8');
        bundles[pid] = { text, json: JSON.parse(text) };
    }
    return { bundles, summary: JSON.parse(p.stdout), rc: p.rc, out };
}
/* The repository's ID, as its audit log says it. */
function repoId(repo) {
    return JSON.parse(run(MAMORI, ['audit', 'show', '--repo', repo, '--json'])).verify.repository;
}

const D = path.join(TMP, 'gen'), TRUTH = path.join(TMP, 'truth.json'), R = path.join(TMP, 'repo');
const STD = path.join(D, 'standard'), EXT = path.join(D, 'extended');
run(MAMORI_GEN, ['--out', D, '--patients', '20', '--days', '120', '--extended', '--seed', '5', '--truth', TRUTH, '-q']);
const T = JSON.parse(fs.readFileSync(TRUTH, 'utf8'));
run(MAMORI, ['-q', 'init', '--repo', R, '--user', 'clerk', ...KDF]);
run(MAMORI, ['-q', 'backup', '--repo', R, STD, EXT]);
const ids = T.patients.map((p) => p.patient.id);
const E1 = mexport(R);
const B = E1.bundles, G1 = E1.summary.generation, RID = repoId(R);
/* meta.source: urn:mamori:<repository>:<generation>:<path in the storage> */
const SRC1 = `urn:mamori:${RID}:${G1}:`;
ok(/^[0-9a-f]{32}$/.test(RID) && /^[0-9a-f]{64}$/.test(G1), `the repository (${RID}) and the generation (${G1.slice(0, 12)}) are known`);
ok(Object.keys(B).length === ids.length && ids.every((id) => B[id]) && E1.summary.patients === ids.length &&
    E1.summary.damaged === 0 && E1.summary.unreadable === 0,
`mamori export --all --fhir writes one Bundle for each of the ${ids.length} patients (exit 0, nothing damaged or unreadable)`);
ok(fs.readdirSync(E1.out).join() === 'fhir', 'the export leaves no scratch folder');

// ---------- FHIR R4 structure ----------

const fhir = new Fhir();
const TYPES = ['Patient', 'Encounter', 'Condition', 'AllergyIntolerance', 'MedicationRequest',
    'MedicationAdministration', 'Observation', 'DiagnosticReport', 'Coverage', 'DocumentReference',
    'Binary', 'OperationOutcome'];
const seen = new Set();
let errors = [];
for (const [pid, b] of Object.entries(B)) {
    const v = fhir.validate(b.json, { errorOnUnexpected: true });
    errors.push(...v.messages.filter((m) => m.severity === 'error').map((m) => ({ pid: pid.length, ...m })));
    for (const e of b.json.entry) {
        seen.add(e.resource.resourceType);
    }
}
ok(errors.length === 0, 'every Bundle validates against the FHIR R4 structure definitions (npm fhir)', errors.slice(0, 5));
for (const t of TYPES) {
    ok(seen.has(t), `the generated data gives at least one ${t}`);
}
/* the validator itself finds errors (a resource with an unknown element, a bad code) */
{
    const bad = JSON.parse(B[ids[0]].text);
    bad.entry[0].resource.notAnElement = 1;
    bad.entry[0].resource.gender = 'neither';
    const v = fhir.validate(bad, { errorOnUnexpected: true });
    ok(v.messages.filter((m) => m.severity === 'error').length >= 2, 'the validator reports a nested unknown element and a bad code');
}

// ---------- JP Core rules (FHIRPath, R4 model) ----------

const fp = (res, expr) => fhirpath.evaluate(res, expr, null, r4);
const JP = 'http://jpfhir.jp/fhir/core/StructureDefinition/';
const PROFILE = {
    Patient: ['JP_Patient'], Encounter: ['JP_Encounter'], Condition: ['JP_Condition'],
    AllergyIntolerance: ['JP_AllergyIntolerance'],
    MedicationRequest: ['JP_MedicationRequest', 'JP_MedicationRequest_Injection'],
    MedicationAdministration: ['JP_MedicationAdministration', 'JP_MedicationAdministration_Injection'],
    Observation: ['JP_Observation_LabResult'], DiagnosticReport: ['JP_DiagnosticReport_Common'],
    Coverage: ['JP_Coverage'],
};
const HOT = ['urn:oid:1.2.392.200119.4.403.1', 'urn:oid:1.2.392.200119.4.402.1', 'urn:oid:1.2.392.200119.4.403.2'];
const YJ = 'urn:oid:1.2.392.100495.20.1.73';
const MEDIS = 'urn:oid:1.2.392.200119.4.101.6';
const ICD10 = 'http://jpfhir.jp/fhir/core/mhlw/CodeSystem/ICD10-2013-full';
const JLAC10 = 'urn:oid:1.2.392.200119.4.504';
const JAMI = 'urn:oid:1.2.392.200250.2.2.20.20';
const JAMI_EXTRA = 'urn:oid:1.2.392.200250.2.2.20.22';
/* [resource type, FHIRPath that must be true for each resource of the type, what it says] */
const RULES = [
    ['Patient', `identifier.where(system = 'urn:oid:1.2.392.100495.20.3.51.1${FACILITY}').count() = 1`, 'JP_Patient identifier system 1.2.392.100495.20.3.51.1<facility>'],
    ['Patient', "name.where(extension('http://hl7.org/fhir/StructureDefinition/iso21090-EN-representation').value = 'IDE').count() = 1", 'kanji name with representation IDE'],
    ['Patient', "name.where(extension('http://hl7.org/fhir/StructureDefinition/iso21090-EN-representation').value = 'SYL').count() = 1", 'kana name with representation SYL'],
    ['Patient', "gender.exists() and birthDate.exists()", 'gender and birthDate'],
    ['Encounter', "status.exists() and class.exists() and (class.code = 'AMB' or class.code = 'IMP') and class.system = 'http://terminology.hl7.org/CodeSystem/v3-ActCode'", 'Encounter status and class AMB/IMP (v3-ActCode)'],
    ['Encounter', 'period.start.exists() or period.end.exists()', 'Encounter period'],
    ['Condition', "clinicalStatus.coding.where(system = 'http://terminology.hl7.org/CodeSystem/condition-clinical').count() = 1", 'Condition clinicalStatus 1..1'],
    ['Condition', "verificationStatus.coding.code.all($this = 'confirmed' or $this = 'provisional')", 'Condition verificationStatus confirmed/provisional'],
    ['Condition', `code.coding.all(system = '${MEDIS}' or system = '${ICD10}') and code.coding.exists() and code.text.exists()`, 'Condition codings MEDIS 病名 / ICD-10 only, and a text'],
    ['AllergyIntolerance', "patient.exists() and clinicalStatus.exists() and code.text.exists()", 'AllergyIntolerance patient, clinicalStatus, code'],
    ['MedicationRequest', "status.exists() and intent = 'order' and subject.exists() and authoredOn.exists()", 'MedicationRequest status, intent, subject, authoredOn'],
    ['MedicationRequest', "identifier.where(system = 'urn:oid:1.2.392.100495.20.3.81').count() = 1 and identifier.where(system = 'urn:oid:1.2.392.100495.20.3.82').count() = 1", 'RP number and order in the RP, 1..1 each'],
    ['MedicationRequest', `medicationCodeableConcept.coding.where(${HOT.map((s) => `system = '${s}'`).join(' or ')}).count() = 1 and medicationCodeableConcept.coding.all(${[...HOT, YJ].map((s) => `system = '${s}'`).join(' or ')})`, 'medication coded in HOT (one) and YJ only'],
    ['MedicationRequest', 'dosageInstruction.count() >= 1', 'dosageInstruction 1..*'],
    ['MedicationRequest', `dosageInstruction.timing.code.coding.all(system = '${JAMI}')`, 'usage coded in JAMI 用法 (16 digits)'],
    ['MedicationRequest', `dosageInstruction.additionalInstruction.coding.all(system = '${JAMI_EXTRA}')`, 'day patterns coded in JAMI 補足用法'],
    ['MedicationAdministration', 'status.exists() and medicationCodeableConcept.exists() and subject.exists() and (effective as dateTime).exists() or (effective as Period).exists()', 'MedicationAdministration status, medication, subject, effective'],
    ['Observation', "status.exists() and category.first().coding.where(system = 'http://jpfhir.jp/fhir/core/CodeSystem/JP_SimpleObservationCategory_CS' and code = 'laboratory').exists() and subject.exists() and effective.exists() and code.text.exists()", 'Observation status, category[first] JP_SimpleObservationCategory_CS#laboratory, subject, effective, code.text'],
    ['Observation', `code.coding.where(system = '${JLAC10}').code.all(length() = 17)`, 'JLAC10 codes are 17 characters'],
    ['Observation', 'value.exists()', 'Observation value (Quantity or string)'],
    ['Observation', "interpretation.coding.all(system = 'http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation')", 'interpretation in v3-ObservationInterpretation'],
    ['Coverage', "status = 'active' and beneficiary.exists() and payor.count() >= 1 and payor.identifier.all(system = 'urn:oid:1.2.392.100495.20.3.61')", 'Coverage status, beneficiary, payor by 保険者番号 (1.2.392.100495.20.3.61)'],
    ['DiagnosticReport', "status = 'final' and code.text.exists() and subject.exists() and category.exists()", 'DiagnosticReport status, code, subject, category'],
    ['DocumentReference', 'status.exists() and subject.exists() and content.count() >= 1 and content.attachment.all(title.exists())', 'DocumentReference status, subject, content'],
    ['DocumentReference', "content.attachment.where(url.exists()).url.all(startsWith('urn:uuid:'))", 'attachments point to Binaries in the Bundle'],
    ['Binary', 'contentType.exists() and data.exists()', 'Binary contentType and data'],
    ['OperationOutcome', 'issue.count() >= 1', 'OperationOutcome has issues'],
];
const ruleFails = {};
const refFails = [], subjFails = [], profFails = [], srcFails = [];
let codings = 0, nosys = [];
for (const [pid, b] of Object.entries(B)) {
    const urls = new Set(b.json.entry.map((e) => e.fullUrl));
    const patientUrl = b.json.entry.find((e) => e.resource.resourceType === 'Patient').fullUrl;
    for (const e of b.json.entry) {
        const r = e.resource;
        for (const [t, expr, what] of RULES) {
            if (r.resourceType === t && fp(r, expr)[0] !== true) {
                (ruleFails[what] ||= []).push(r.id);
            }
        }
        for (const ref of fp(r, 'descendants().reference')) {
            if (!urls.has(ref)) {
                refFails.push(ref);
            }
        }
        for (const s of fp(r, 'subject.reference | patient.reference')) {
            if (s !== patientUrl) {
                subjFails.push(r.id);
            }
        }
        for (const c of fp(r, 'descendants().coding')) {
            codings++;
            if (!c.system) {
                nosys.push(r.id);
            }
        }
        const want = PROFILE[r.resourceType];
        if (want && !(r.meta?.profile || []).some((p) => want.map((w) => JP + w).includes(p))) {
            profFails.push(r.resourceType);
        }
        /* meta.source names a current file of this patient, present in the restored storage */
        if (r.resourceType !== 'OperationOutcome') {
            const src = r.meta?.source || '';
            const rel = decodeURIComponent(src.slice(SRC1.length));
            const parts = rel.split('/');
            if (!src.startsWith(SRC1) || parts[2] !== pid || /_[02]$/.test(rel) ||
                !(fs.existsSync(path.join(STD, rel)) || fs.existsSync(path.join(EXT, rel)))) {
                srcFails.push(rel);
            }
        }
    }
}
for (const [, , what] of RULES) {
    ok(!ruleFails[what], `JP Core: ${what}`, ruleFails[what]?.slice(0, 3));
}
ok(refFails.length === 0, 'every reference resolves inside its Bundle', refFails.slice(0, 3));
ok(subjFails.length === 0, "every subject / patient is the Bundle's own Patient", subjFails.slice(0, 3));
ok(codings > 0 && nosys.length === 0, `every coding has a system (${codings} codings)`, nosys.slice(0, 3));
ok(profFails.length === 0, 'meta.profile is the JP Core profile of each resource', profFails.slice(0, 3));
ok(srcFails.length === 0, "meta.source names the repository, the generation and a current (_1) file of the patient's own folder, present in the storage", srcFails.slice(0, 3));

// ---------- content against the truth ----------

const res = (b, type) => b.json.entry.map((e) => e.resource).filter((r) => r.resourceType === type);
const bad = {};
const nStatus = {};
const fail = (what, x) => (bad[what] ||= []).push(x);
const codeOf = (cc, systems) => (cc?.coding || []).find((c) => systems.includes(c.system))?.code;
for (const P of T.patients) {
    const pid = P.patient.id, b = B[pid];
    const pt = res(b, 'Patient')[0];
    const nameOf = (rep) => pt.name.find((x) => x.extension?.[0]?.valueCode === rep)?.text;
    if (pt.identifier[0].value !== pid || nameOf('IDE') !== P.patient.name || nameOf('SYL') !== P.patient.kana ||
        pt.birthDate !== P.patient.birth_date || pt.gender !== { M: 'male', F: 'female' }[P.patient.sex]) {
        fail('patient', pid.length);
    }
    /* diagnoses: current active, and resolved */
    const cond = res(b, 'Condition').map((c) => `${codeOf(c.code, [MEDIS]) || ''}|${codeOf(c.code, [ICD10]) || ''}|${c.clinicalStatus.coding[0].code}|${c.verificationStatus.coding[0].code}`).sort();
    const want = [...P.diagnoses.map((d) => `${d.medis}|${d.icd10}|active|${d.suspected ? 'provisional' : 'confirmed'}`),
        ...P.resolved_diagnoses.map((d) => `${d.medis}|${d.icd10}|resolved|${d.suspected ? 'provisional' : 'confirmed'}`)].sort();
    if (JSON.stringify(cond) !== JSON.stringify(want)) {
        fail('diagnoses', { got: cond, want });
    }
    const al = res(b, 'AllergyIntolerance').map((a) => `${a.code.coding?.[0]?.code || ''}|${a.code.text}`).sort();
    const wal = P.allergies.map((a) => `${a.code}|${a.name || a.code}`).sort();
    if (JSON.stringify(al) !== JSON.stringify(wal)) {
        fail('allergies', { got: al, want: wal });
    }
    /* every prescription and injection line, once */
    const mr = res(b, 'MedicationRequest').map((m) => {
        const rp = m.identifier.find((i) => i.system === 'urn:oid:1.2.392.100495.20.3.81').value;
        return `${m.groupIdentifier.value}|${rp}|${codeOf(m.medicationCodeableConcept, HOT)}`;
    }).sort();
    const wmr = [...P.prescriptions, ...P.injections].flatMap((o) => o.rps.flatMap((rp) => rp.drugs.map((d) => `${o.order_no}|${rp.rp}|${d.code}`))).sort();
    if (JSON.stringify(mr) !== JSON.stringify(wmr)) {
        fail('prescription and injection lines', { got: mr.length, want: wmr.length });
    }
    /* 不均等: one dosageInstruction per timing with its dose */
    for (const o of P.prescriptions) {
        for (const rp of o.rps) {
            for (const d of rp.drugs) {
                const m = res(b, 'MedicationRequest').find((x) => x.groupIdentifier.value === o.order_no &&
                    x.identifier.find((i) => i.system === 'urn:oid:1.2.392.100495.20.3.81').value === rp.rp &&
                    codeOf(x.medicationCodeableConcept, HOT) === d.code);
                if (!m) {
                    continue;
                }
                const doses = m.dosageInstruction.map((di) => di.doseAndRate?.[0]?.doseQuantity?.value);
                if (d.per_timing.length && JSON.stringify(doses) !== JSON.stringify(d.per_timing.map((t) => Number(t.dose)))) {
                    fail('unequal doses per timing', { doses, want: d.per_timing });
                }
                if (rp.pattern && !m.dosageInstruction.every((di) => di.additionalInstruction?.[0]?.coding?.[0]?.code === rp.pattern.code)) {
                    fail('day pattern code', rp.pattern.code);
                }
                if (rp.prn !== Boolean(m.dosageInstruction[0].asNeededBoolean || m.dosageInstruction[0].asNeededCodeableConcept)) {
                    fail('PRN', rp.prn);
                }
                if (rp.usage_code && m.dosageInstruction[0].timing?.code?.coding?.[0]?.code !== rp.usage_code) {
                    fail('usage code', rp.usage_code);
                }
                if (rp.days && /^d$/i.test(rp.days_unit) && (m.dispenseRequest?.expectedSupplyDuration?.value !== Number(rp.days) ||
                    m.dispenseRequest.expectedSupplyDuration.code !== 'd')) {
                    fail('days', rp.days);
                }
                /* JP Core fixes the status to active */
                if (m.status !== 'active') {
                    fail('status active (JP Core)', m.status);
                }
                /* the daily dose as JP Core's rateRatio (per 1 日, UCUM d), when not 不均等 */
                const rr = m.dosageInstruction[0].doseAndRate?.[0]?.rateRatio;
                if (!d.per_timing.length && /^[0-9.]+$/.test(d.daily_dose) &&
                    (rr?.numerator?.value !== Number(d.daily_dose) || rr.denominator.code !== 'd' || rr.denominator.value !== 1)) {
                    fail('daily dose as rateRatio', { rr, want: d.daily_dose });
                }
                nStatus[m.status] = (nStatus[m.status] || 0) + 1;
                if (rr) {
                    nStatus.rateRatio = (nStatus.rateRatio || 0) + 1;
                }
            }
        }
    }
    /* an injection's rate per hour as rateRatio (RXE-23/24) */
    for (const o of P.injections) {
        for (const rp of o.rps) {
            if (!rp.rate || !/^H\d+$/.test(rp.rate_per)) {
                continue;
            }
            for (const m of res(b, 'MedicationRequest').filter((x) => x.groupIdentifier.value === o.order_no &&
                x.identifier.find((i) => i.system === 'urn:oid:1.2.392.100495.20.3.81').value === rp.rp)) {
                const rr = m.dosageInstruction[0].doseAndRate?.[0]?.rateRatio;
                if (rr?.numerator?.value !== Number(rp.rate) || rr.denominator.code !== 'h' ||
                    rr.denominator.value !== Number(rp.rate_per.slice(1)) || !rp.rate_unit.startsWith(rr.numerator.unit)) {
                    fail('injection rate per hour', { rr, want: [rp.rate, rp.rate_unit] });
                }
                nStatus.injRate = (nStatus.injRate || 0) + 1;
            }
        }
    }
    /* labs */
    const obs = res(b, 'Observation').map((o) => `${o.code.coding?.[0]?.code}|${o.valueQuantity ? o.valueQuantity.value : o.valueString}|${o.effectiveDateTime.slice(0, 16)}`).sort();
    const wobs = P.labs.map((l) => `${l.code}|${isNaN(Number(l.value)) || l.value === '' ? l.value : Number(l.value)}|${l.collected_at}`).sort();
    if (JSON.stringify(obs) !== JSON.stringify(wobs)) {
        fail('labs', { got: obs.slice(0, 3), want: wobs.slice(0, 3), n: obs.length, wn: wobs.length });
    }
    const lflags = res(b, 'Observation').filter((o) => o.interpretation).length;
    if (lflags !== P.labs.filter((l) => l.flag).length) {
        fail('lab flags', lflags);
    }
    if (res(b, 'MedicationAdministration').length !== P.administrations.length) {
        fail('administrations', [res(b, 'MedicationAdministration').length, P.administrations.length]);
    }
    if (res(b, 'Encounter').length !== P.encounters.length) {
        fail('encounters', [res(b, 'Encounter').length, P.encounters.length]);
    }
    /* insurance: one Coverage per IN1 */
    const cov = res(b, 'Coverage').map((c) => `${c.type.coding?.[0]?.code}|${c.payor[0].identifier?.value || ''}|${c.period?.start || ''}`).sort();
    const wcov = P.patient.insurance.map((i) => `${i.plan_code}|${i.insurer_no}|${i.valid_from}`).sort();
    if (JSON.stringify(cov) !== JSON.stringify(wcov)) {
        fail('insurance', { got: cov, want: wcov });
    }
    /* examination results: one per current OMG-11/12/13 file of the patient (the truth has none) */
    const examFiles = fs.readdirSync(path.join(STD, pid.slice(0, 3), pid.slice(3, 6), pid)).flatMap((date) =>
        ['OMG-11', 'OMG-12', 'OMG-13'].flatMap((t) => {
            const dir = path.join(STD, pid.slice(0, 3), pid.slice(3, 6), pid, date, t);
            return fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith('_1')) : [];
        }));
    if (res(b, 'DiagnosticReport').length !== examFiles.length) {
        fail('examination results', [res(b, 'DiagnosticReport').length, examFiles.length]);
    }
    if (res(b, 'DocumentReference').length !== P.documents.length + P.images.length) {
        fail('documents', [res(b, 'DocumentReference').length, P.documents.length + P.images.length]);
    }
    /* no cancelled order; a superseded order only in its current version (lines above) */
    const groups = new Set(res(b, 'MedicationRequest').map((m) => m.groupIdentifier.value));
    for (const c of P.cancelled_orders) {
        if (groups.has(c.split('/')[1]) || b.text.includes(`_${c.split('/')[1]}_`)) {
            fail('cancelled order exported', c);
        }
    }
    /* no other patient's ID, name or folder */
    for (const Q of T.patients) {
        if (Q.patient.id !== pid && (b.text.includes(Q.patient.id) ||
            (Q.patient.name !== P.patient.name && b.text.includes(`"${Q.patient.name}"`)))) {
            fail('another patient in the Bundle', pid.length);
        }
    }
}
for (const what of ['patient', 'diagnoses', 'allergies', 'prescription and injection lines',
    'unequal doses per timing', 'day pattern code', 'PRN', 'usage code', 'days', 'status active (JP Core)', 'daily dose as rateRatio', 'injection rate per hour', 'labs', 'lab flags',
    'administrations', 'encounters', 'insurance', 'examination results', 'documents', 'cancelled order exported', 'another patient in the Bundle']) {
    ok(!bad[what], `truth: ${what}`, bad[what]?.slice(0, 2));
}
ok(nStatus.rateRatio > 0 && nStatus.injRate > 0, `daily doses written as rateRatio (${JSON.stringify(nStatus)})`);
const nCancel = T.patients.reduce((s, p) => s + p.cancelled_orders.length, 0);
const nSuper = T.patients.reduce((s, p) => s + p.superseded_orders.length, 0);
ok(nCancel > 0 && nSuper > 0, `the fixture has cancelled (${nCancel}) and superseded (${nSuper}) orders to leave out`);
const oldFiles = [];
(function walk(d) {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
        if (e.isDirectory()) {
            walk(path.join(d, e.name));
        } else if (/_[02]$/.test(e.name)) {
            oldFiles.push(e.name);
        }
    }
})(STD);
const allText = Object.values(B).map((b) => b.text).join('\n');
ok(oldFiles.length > 0 && oldFiles.every((f) => !allText.includes(f)),
    `no resource names one of the ${oldFiles.length} superseded or cancelled files`);

// ---------- documents and images: Binary with the original bytes ----------

/*
 * Every attachment of every DocumentReference of Bundle @b against the content folder its
 * meta.source names (after @prefix, below the extended storage @ext): one per file of the folder,
 * each pointing to a Binary of the Bundle whose base64 data are the file's bytes, and no Binary
 * left over. @return { files, same, diff }
 */
function binaries(b, prefix, ext) {
    const bin = new Map(b.json.entry.filter((e) => e.resource.resourceType === 'Binary').map((e) => [e.fullUrl, e.resource]));
    const used = new Set(), diff = [];
    let files = 0, same = 0;
    for (const d of res(b, 'DocumentReference')) {
        const folder = decodeURIComponent((d.meta?.source || '').slice(prefix.length));
        const dir = path.join(ext, folder);
        const onDisk = fs.existsSync(dir) ? fs.readdirSync(dir).sort() : [];
        const titles = d.content.map((c) => c.attachment.title).sort();
        if (!d.meta?.source?.startsWith(prefix) || onDisk.length === 0 || titles.join('/') !== onDisk.join('/')) {
            diff.push({ folder: folder.split('/').slice(3).join('/'), titles, onDisk });
        }
        for (const c of d.content) {
            const a = c.attachment, r = bin.get(a.url);
            files++;
            if (!r) {
                diff.push({ notEmbedded: a.title });
                continue;
            }
            used.add(a.url);
            const f = path.join(dir, a.title);
            if (fs.existsSync(f) && Buffer.from(r.data, 'base64').equals(fs.readFileSync(f)) && r.contentType === a.contentType) {
                same++;
            } else {
                diff.push({ differs: a.title, contentType: [r.contentType, a.contentType] });
            }
        }
    }
    if (used.size !== bin.size) {
        diff.push({ unusedBinaries: bin.size - used.size });
    }
    return { files, same, diff };
}
{
    let files = 0, same = 0;
    const diff = [];
    for (const b of Object.values(B)) {
        const x = binaries(b, SRC1, EXT);
        files += x.files;
        same += x.same;
        diff.push(...x.diff);
    }
    const want = T.patients.reduce((k, p) => k + p.documents.length + p.images.length, 0);
    ok(want > 0 && files >= want && same === files && diff.length === 0,
        `every file of every document and image folder is a Binary holding the storage's bytes (${same} of ${files} files, ${want} folders)`, diff.slice(0, 3));
}

// ---------- IDs ----------

{
    const again = mexport(R);
    ok(again.summary.generation === G1 && ids.every((id) => again.bundles[id]?.text === B[id].text),
        'a second export of the generation writes the same Bundles, byte for byte');
}
run(MAMORI_GEN, ['advance', '--out', D, '--days', '10', '-q']);
run(MAMORI, ['-q', 'backup', '--repo', R, STD, EXT]);
const E2 = mexport(R, ['--generation', 'latest']);
const B2 = E2.bundles, SRC2 = `urn:mamori:${RID}:${E2.summary.generation}:`;
ok(E2.summary.generation !== G1 && ids.every((id) => B2[id] && B2[id].json.entry.every((e) => !e.resource.meta?.source || e.resource.meta.source.startsWith(SRC2))),
    'after mamori-gen advance, a second backup exports as a new generation (meta.source names it)');
let kept = 0, lost = [];
for (const id of ids) {
    const after = new Map((B2[id]?.json.entry || []).map((e) => [e.fullUrl, e.resource]));
    for (const e of B[id].json.entry) {
        const src = e.resource.meta?.source;
        if (!src) {
            continue;
        }
        const rel = decodeURIComponent(src.slice(SRC1.length));
        if (e.resource.resourceType !== 'AllergyIntolerance' && (fs.existsSync(path.join(STD, rel)) || fs.existsSync(path.join(EXT, rel)))) {
            if (after.has(e.fullUrl) && after.get(e.fullUrl).resourceType === e.resource.resourceType) {
                kept++;
            } else {
                lost.push(e.resource.resourceType);
            }
        }
    }
}
ok(kept > 100 && lost.length === 0, `after 10 more days every resource of a file still current keeps its ID (${kept})`, lost.slice(0, 5));

// ---------- read failures ----------

{
    /* every prescription file of a patient made unreadable (mamori-gen damage), then backed up */
    const P = T.patients.find((p) => p.prescriptions.length > 0 && p.labs.length > 0);
    const pid = P.patient.id;
    const isRx = (m) => (m.meta?.profile || []).includes(JP + 'JP_MedicationRequest');
    const dmg = JSON.parse(run(MAMORI_GEN, ['damage', '--out', D, '--patient', pid, '--type', 'OMP-01']).trim());
    ok(dmg.broken.length > 0 && dmg.broken.length === dmg.files && dmg.broken.some((f) => f.current),
        `mamori-gen damage broke the patient's ${dmg.broken.length} prescription files`);
    /* the guard may call the changed files suspect (exit 4): the generation is written */
    runRc(MAMORI, ['-q', 'backup', '--repo', R, STD, EXT], [0, 4]);
    const E3 = mexport(R, ['--generation', 'latest', '--patient', pid], [3]);
    const Bf = E3.bundles[pid];
    ok(E3.rc === 3 && E3.summary.patients === 1 && E3.summary.unreadable === 1 && Bf,
        'a patient with unreadable files: exit 3, counted unreadable, still exported');
    const oo = res(Bf, 'OperationOutcome')[0];
    const issue = oo.issue.find((i) => i.severity === 'error' && i.details.text.includes('OMP-01'));
    ok(issue && !JSON.stringify(oo).includes(pid), 'the OperationOutcome names the data type (OMP-01) of the files that cannot be read, not the patient');
    ok(res(B2[pid], 'MedicationRequest').some(isRx) && !res(Bf, 'MedicationRequest').some(isRx) &&
        fhir.validate(Bf.json, { errorOnUnexpected: true }).messages.filter((m) => m.severity === 'error').length === 0,
    "the unreadable files' prescriptions are absent and the Bundle is still valid");
    const count = (b) => {
        const c = {};
        for (const r of b.json.entry.map((e) => e.resource)) {
            if (r.resourceType !== 'OperationOutcome' && !(r.resourceType === 'MedicationRequest' && isRx(r))) {
                c[r.resourceType] = (c[r.resourceType] || 0) + 1;
            }
        }
        return JSON.stringify(Object.entries(c).sort());
    };
    ok(count(Bf) === count(B2[pid]), 'everything else of the patient is exported as before the damage', [count(Bf), count(B2[pid])]);
    ok(res(B[pid], 'OperationOutcome')[0].issue[0].severity === 'information' && res(B[pid], 'OperationOutcome')[0].issue.length === 1,
        'before the damage the OperationOutcome said every file was read');
}

// ---------- the public samples' facts ----------

{
    /* the samples folder as a hospital would back it up: the NHO storage, the fixture's
     * standardized and extended storages (and a sample folder whose messages name another
     * patient, which the export leaves out: exit 3; a file not named as SS-MIX2 names makes
     * the guard call the generation suspect: exit 4, --generation latest) */
    const RS = path.join(TMP, 'repo-samples');
    run(MAMORI, ['-q', 'init', '--repo', RS, '--user', 'clerk', ...KDF]);
    runRc(MAMORI, ['-q', 'backup', '--repo', RS, SAMPLES], [0, 4]);
    const ES = mexport(RS, ['--generation', 'latest'], [0, 3]);
    const S = ES.bundles['9999013'], F = ES.bundles['5550001234'];
    ok(S && F, 'the samples folder backed up and exported: Bundles of 9999013 (NHO) and 5550001234 (fixture)');
    if (!S || !F) {
        bail('the samples gave no Bundles');
    }
    const v = fhir.validate(S.json, { errorOnUnexpected: true });
    ok(v.messages.filter((m) => m.severity === 'error').length === 0, 'NHO sample 9999013: valid FHIR R4');
    const pt = res(S, 'Patient')[0];
    ok(pt.name[0].text === '患者 太郎' && pt.name[1].text === 'カンジャ タロウ' && pt.birthDate === '1948-04-05' && pt.gender === 'male',
        'NHO sample: 患者 太郎 (カンジャ タロウ), male, born 1948-04-05');
    const c = res(S, 'Condition');
    ok(c.length === 1 && c[0].code.text === '胃炎' && codeOf(c[0].code, [ICD10]) === 'K297' && c[0].clinicalStatus.coding[0].code === 'resolved' &&
        c[0].extension?.some((x) => x.url.endsWith('main-diagnosis')), 'NHO sample: 胃炎 K297, resolved, main diagnosis');
    ok(res(S, 'MedicationRequest').some((m) => codeOf(m.medicationCodeableConcept, HOT) === '108665201'), 'NHO sample: prescription of HOT 108665201');
    const tp = res(S, 'Observation').find((o) => o.code.coding[0].code === '3A010000002327101');
    ok(tp && tp.code.coding[0].system === JLAC10 && tp.valueQuantity.value === 7.2 && tp.valueQuantity.unit === 'g/dl' &&
        tp.referenceRange[0].low.value === 6.7 && tp.referenceRange[0].high.value === 8.3 && tp.effectiveDateTime === '2011-12-19T15:00:00+09:00',
        'NHO sample: 総蛋白 7.2 g/dl (6.70-8.3), JLAC10, collected 2011-12-19 15:00');
    const dr = res(S, 'DiagnosticReport');
    ok(dr.length === 3 && dr.some((d) => d.identifier.some((i) => i.value === 'urn:oid:1.2.392.1114.20045.43233.5.300001')) &&
        dr.some((d) => (d.conclusion || '').includes('心筋虚血疑い')), 'NHO sample: radiology (study UID), endoscopy and ECG results (心筋虚血疑い)');
    ok(res(S, 'AllergyIntolerance').length === 5 && res(S, 'MedicationAdministration').length > 0, 'NHO sample: 5 allergies and the administrations');
    ok(fhir.validate(F.json, { errorOnUnexpected: true }).messages.filter((m) => m.severity === 'error').length === 0, 'fixture 5550001234: valid FHIR R4');
    const vals = res(F, 'Observation').map((o) => o.valueString);
    ok(['(3+)', '(1+)', 'K.pneumoniae', 'E.faecalis'].every((x) => vals.includes(x)), 'fixture: culture amounts and organisms as valueString');
    const fb = binaries(F, `urn:mamori:${repoId(RS)}:${ES.summary.generation}:`, path.join(SAMPLES, 'fixtures', 'extended_root'));
    ok(res(F, 'DocumentReference').length === 2 && res(F, 'Binary').length === 2 && fb.files === 2 && fb.same === 2 && fb.diff.length === 0 &&
        Buffer.from(res(F, 'Binary')[0].data, 'base64').toString('latin1').startsWith('MSH|'),
    'fixture: 2 extended-storage documents, embedded as Binary (their HL7 bytes, as in the storage)', fb.diff);
}

console.log(`1..${n}`);
note(`${n - failed} passed, ${failed} failed`);
if (!process.env.KEEP_TMP) {
    fs.rmSync(TMP, { recursive: true, force: true });
} else {
    note(`kept ${TMP}`);
}
process.exit(failed ? 1 : 0);
