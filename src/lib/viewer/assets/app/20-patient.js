    /* app.js, part 20-patient.js: the patient screen: band, tabs, allergies, visits, admissions,
     * diagnoses, orders, administrations, patient information. The parts are one function,
     * concatenated in name order at build time (src/lib/viewer/meson.build); they share its scope. */

    /* ---------- patient ---------- */

    function openPatient(pid, keepTab, fromHistory) {
        S.view = 'patient';
        S.pid = pid;
        S.patient = null;
        S.patientError = null;
        S.chartTest = null;
        S.doc = null;
        S.medsAsOf = null;
        S.medsBusy = false;
        S.medsError = null;
        if (!keepTab) {
            S.tab = 'visits';
        }
        if (!fromHistory) {
            pushRoute(false);
        }
        if (root) {
            root.removeAttribute('data-print-ready');
        }
        render();
        var gen = S.gen;
        api('GET', '/api/patient?id=' + encodeURIComponent(pid) + (gen ? '&gen=' + encodeURIComponent(gen) : ''))
            .then(function (j) {
                if (S.pid !== pid || S.gen !== gen) {
                    return;
                }
                S.patient = { record: j.record || {}, labs: j.labs || null, meds: medsOf(j) };
                loadRecovery(pid, gen, S.patient.record);
                render();
                var tab = root.querySelector('[role=tab][aria-selected=true]');
                if (tab) {
                    tab.focus();
                }
            }, function (e) {
                if (apiFailed(e)) {
                    return;
                }
                S.patientError = e instanceof ApiError && e.status === 404 ? t('not_found') : errText(e);
                render();
            });
    }

    var TABS = ['visits', 'admissions', 'diagnoses', 'prescriptions', 'injections', 'labs', 'exams',
        'documents', 'images', 'profile'];

    function arr(x) {
        return Array.isArray(x) ? x : [];
    }

    function tabCount(name, rec, labs) {
        switch (name) {
        case 'visits':
            return arr(rec.encounters).length;
        case 'admissions':
            return arr(rec.encounters).filter(isStayEvent).length;
        case 'diagnoses':
            return arr(rec.diagnoses).length + arr(rec.resolved_diagnoses).length;
        case 'labs':
            return labs && labs.tests ? labs.tests.length : 0;
        case 'profile':
            return rec.patient ? arr(rec.patient.contacts).length + arr(rec.patient.phones).length +
                arr(rec.patient.insurance).length + (rec.patient.address ? 1 : 0) : 0;
        default:
            return arr(rec[name]).length;
        }
    }

    function viewPatient() {
        var main = h('main.mm-main.mm-main-patient', { id: 'mm-main', testid: 'patient-view' });
        var bar = h('div.mm-toolbar.mm-no-print',
            h('button.mm-btn', {
                type: 'button', testid: 'back-button',
                on: {
                    click: function () {
                        S.view = 'search';
                        S.patient = null;
                        S.pid = null;
                        pushRoute(false);
                        render();
                    }
                }
            }, '← ' + t('back')),
            S.patient ? h('button.mm-btn', {
                type: 'button', testid: 'print-button',
                on: {
                    click: function (ev) {
                        var btn = ev.currentTarget;
                        btn.disabled = true;
                        btn.textContent = t('print_preparing');
                        preparePrint().then(function () {
                            btn.disabled = false;
                            btn.textContent = t('print');
                            window.print();
                        });
                    }
                }
            }, t('print')) : null);
        main.appendChild(bar);
        if (S.patientError) {
            main.appendChild(h('p.mm-error.mm-card', { role: 'alert', testid: 'patient-error', text: S.patientError }));
            return main;
        }
        if (!S.patient) {
            main.appendChild(h('p.mm-loading.mm-card', { text: t('loading') }));
            return main;
        }
        var rec = S.patient.record;
        var labs = S.patient.labs;
        var g = genById(S.gen);
        var body = h('div.mm-frame-content');
        /* on paper: which viewer, which generation, when printed */
        body.appendChild(h('p.mm-print-only.mm-print-meta', { testid: 'print-meta' },
            h('span', { text: t('app_title') }),
            g ? h('span', { text: t('print_as_of', genLabel(g)) }) : null,
            h('span.mm-printed-at', { text: t('printed_at', nowText()) })));
        main.appendChild(frame(rec, g, body));
        /* on screen the band and the tabs stay in view while the record scrolls */
        var head = h('div.mm-sticky-head', { testid: 'sticky-head' }, patientHeader(rec));
        body.appendChild(head);

        medsShown = S.patient.meds;
        var tablist = h('div.mm-tabs.mm-no-print', { role: 'tablist', 'aria-label': t('tabs_label'), testid: 'tabs' });
        var panels = h('div.mm-panels');
        TABS.forEach(function (name) {
            var selected = S.tab === name;
            var n = tabCount(name, rec, labs);
            var tab = h('button.mm-tab', {
                type: 'button', role: 'tab', id: 'mm-tab-' + name, testid: 'tab-' + name,
                'aria-selected': selected ? 'true' : 'false', 'aria-controls': 'mm-panel-' + name,
                tabindex: selected ? '0' : '-1', 'data-count': n,
                on: {
                    click: function () {
                        selectTab(name, false);
                    },
                    keydown: tabKey
                }
            }, t('tab_' + name), h('span.mm-tab-count', { text: String(n) }));
            if (failuresOf(rec, name, true).length) {
                tab.classList.add('mm-tab-failed');
                tab.setAttribute('data-failed', 'true');
                tab.appendChild(h('span.mm-tab-failmark', { title: t('fail_title'), text: '!' }));
            } else if (n === 0) {
                tab.classList.add('mm-tab-empty');
            }
            tablist.appendChild(tab);
            var panel = h('section.mm-panel', {
                role: 'tabpanel', id: 'mm-panel-' + name, testid: 'panel-' + name,
                'aria-labelledby': 'mm-tab-' + name, tabindex: '0', hidden: !selected
            }, h('h2.mm-panel-title', { text: t('tab_' + name) }), section(name, rec, labs, false));
            panels.appendChild(panel);
        });
        head.appendChild(tablist);
        /* the first thing under the band, on every tab: what the patient takes now */
        body.appendChild(secCurrentMeds(rec, S.patient.meds, g, false));
        body.appendChild(panels);
        return main;
    }

    /*
     * A patient's pages as a table whose head is the running band: Chromium repeats a table's
     * head on every printed page, so each page carries the patient's name, ID and allergies and
     * the generation's time (page X/Y comes from the @page margin boxes in app.css). On screen
     * the table is laid out as plain blocks and the band is not shown.
     */
    function frame(rec, g, body) {
        return h('table.mm-frame', { testid: 'print-frame', role: 'presentation' },
            h('thead.mm-frame-head', h('tr', h('td', runBand(rec, g)))),
            h('tbody.mm-frame-body', h('tr', h('td', body))));
    }

    function runBand(rec, g) {
        var p = rec.patient || {};
        var al = arr(rec.allergies).map(function (a) {
            return str(a.name || a.code) + (a.severity ? '(' + tcode('sev_', a.severity) + ')' : '');
        });
        return h('div.mm-run-band.mm-print-only', { testid: 'run-band' },
            h('strong.mm-run-name', { text: str(p.name) }),
            h('span', { text: str(p.kana) }),
            h('span.mm-mono', { text: t('col_id') + ' ' + str(p.id) }),
            h('span', { text: fmtSex(p.sex) + ' ' + fmtAge(ageOf(p.birth_date)) }),
            h('span', { text: t('col_birth') + ' ' + (fmtDate(p.birth_date) || t('unknown')) }),
            h('span.mm-run-allergy', {
                text: al.length ? '⚠ ' + t('run_allergy', al.join('、')) :
                    arr(rec.read_failures).length ? '⚠ ' + t('allergy_unknown') : t('allergy_none')
            }),
            p.source && p.source !== 'ADT-00' ? h('span.mm-run-source', { text: t('patient_source', typeName(p.source), fmtDate(p.source_time)) }) : null,
            g ? h('span.mm-run-gen', { text: t('run_as_of', fmtDateTime(g.time)) }) : null);
    }

    function selectTab(name, focus, fromHistory) {
        var changed = S.tab !== name;
        S.tab = name;
        S.doc = null;
        if (changed && !fromHistory) {
            pushRoute(false);
        }
        var tabs = root.querySelectorAll('[role=tab]');
        for (var i = 0; i < tabs.length; i++) {
            var on = tabs[i].id === 'mm-tab-' + name;
            tabs[i].setAttribute('aria-selected', on ? 'true' : 'false');
            tabs[i].tabIndex = on ? 0 : -1;
            if (on && focus) {
                tabs[i].focus();
            }
        }
        var panels = root.querySelectorAll('[role=tabpanel]');
        for (var j = 0; j < panels.length; j++) {
            panels[j].hidden = panels[j].id !== 'mm-panel-' + name;
            /* a matrix laid out while its panel was hidden could not scroll: the newest
             * results (at the right) are what a reader needs first */
            var sc = panels[j].hidden ? null : panels[j].querySelector('.mm-lab-scroll');
            if (sc && !sc.getAttribute('data-scrolled')) {
                sc.setAttribute('data-scrolled', '1');
                sc.scrollLeft = sc.scrollWidth;
            }
        }
    }

    function tabKey(ev) {
        var i = TABS.indexOf(S.tab);
        var n = -1;
        if (ev.key === 'ArrowRight') {
            n = (i + 1) % TABS.length;
        } else if (ev.key === 'ArrowLeft') {
            n = (i + TABS.length - 1) % TABS.length;
        } else if (ev.key === 'Home') {
            n = 0;
        } else if (ev.key === 'End') {
            n = TABS.length - 1;
        }
        if (n >= 0) {
            ev.preventDefault();
            selectTab(TABS[n], true);
        }
    }

    function patientHeader(rec) {
        var p = rec.patient || {};
        var age = ageOf(p.birth_date);
        var facts = h('dl.mm-facts',
            fact('sex', t('col_sex'), fmtSex(p.sex)),
            fact('age', t('col_age'), fmtAge(age)),
            fact('birth', t('col_birth'), fmtDate(p.birth_date) || t('unknown')),
            fact('id', t('col_id'), p.id),
            fact('blood', t('blood'), p.blood_type || t('unknown')),
            p.height_cm ? fact('height', t('height'), p.height_cm + ' cm') : null,
            p.weight_kg ? fact('weight', t('weight'), p.weight_kg + ' kg') : null);
        var now = currentStay(rec);
        if (now) {
            facts.appendChild(h('div.mm-fact.mm-fact-stay', h('dt', { text: t('stay_current') }),
                h('dd', { testid: 'patient-stay', text: now.where + ' ' + t('stay_since', fmtDate(now.stay.start.date), now.days) })));
        }
        return h('section.mm-header-band', { testid: 'patient-header', 'aria-label': str(p.name) },
            h('div.mm-header-who',
                h('div.mm-names',
                    h('h2.mm-patient-name', { testid: 'patient-name', text: p.name || p.id }),
                    h('span.mm-patient-kana', { testid: 'patient-kana', text: p.kana || '' })),
                facts, patientSource(rec.patient)),
            allergyBox(arr(rec.allergies), rec));
    }

    function fact(key, label, value) {
        return h('div.mm-fact', h('dt', { text: label }), h('dd', { testid: 'patient-' + key, text: str(value) }));
    }

    function allergyBox(list, rec) {
        if (!list.length && arr(rec && rec.read_failures).length) {
            /* nothing found is not "none" when some files could not be read */
            return h('div.mm-allergy.mm-allergy-unknown', { testid: 'allergy-unknown', role: 'alert' },
                h('strong', { text: '⚠ ' + t('allergy_unknown') }));
        }
        if (!list.length) {
            return h('div.mm-allergy.mm-allergy-none', { testid: 'allergy-none' },
                h('strong', { text: t('allergy_none') }), ' ', h('span', { text: t('allergy_none_more') }));
        }
        var ul = h('ul.mm-allergy-list');
        list.forEach(function (a) {
            var sev = tcode('sev_', a.severity);
            ul.appendChild(h('li.mm-allergy-item', {
                testid: 'allergy-item', 'data-type': a.type, 'data-severity': a.severity
            },
                h('span.mm-allergy-type', { text: tcode('atype_', a.type) || '?' }),
                h('strong.mm-allergy-name', { text: a.name || a.code }),
                sev ? h('span.mm-allergy-sev', { 'data-sev': a.severity, text: sev }) : null,
                a.reaction ? h('span.mm-allergy-reaction', { text: a.reaction }) : null,
                a.onset ? h('span.mm-allergy-onset', { text: t('onset') + ' ' + a.onset }) : null,
                allergySource(a)));
        });
        return h('div.mm-allergy', { testid: 'allergy-list', role: 'region', 'aria-label': t('allergy_title') },
            h('h3.mm-allergy-title', { text: '⚠ ' + t('allergy_title') + ' (' + list.length + ')' }), ul);
    }

    function section(name, rec, labs, print) {
        return withFailures(name, rec, print, sectionBody(name, rec, labs, print));
    }

    function sectionBody(name, rec, labs, print) {
        switch (name) {
        case 'visits':
            return secVisits(rec);
        case 'admissions':
            return secAdmissions(rec);
        case 'diagnoses':
            return secDiagnoses(rec);
        case 'prescriptions':
            return h('div.mm-rx-tab', secTimeline(medsShown),
                secOrders(arr(rec.prescriptions), false, 'rx', arr(rec.administrations)));
        case 'injections':
            return secOrders(arr(rec.injections), true, 'inj', arr(rec.administrations));
        case 'profile':
            return secProfile(rec);
        case 'labs':
            return secLabs(labs, print);
        case 'exams':
            return secExams(rec);
        case 'documents':
            return secDocuments(rec, print);
        case 'images':
            return secImages(rec, print);
        }
        return null;
    }

    function none() {
        return h('p.mm-none', { testid: 'none-recorded', text: t('none_recorded') });
    }

    function table(cls, testid, heads, rows) {
        var tr = h('tr');
        heads.forEach(function (x) {
            tr.appendChild(h('th', { scope: 'col', text: x }));
        });
        return h('table.mm-table' + (cls ? '.' + cls : ''), { testid: testid }, h('thead', tr), h('tbody', rows));
    }

    function kindLabel(k) {
        return tcode('kind_', k);
    }

    function byDateTimeDesc(a, b) {
        return cmpDesc(str(a.date) + 'T' + str(a.time), str(b.date) + 'T' + str(b.time));
    }

    function secVisits(rec) {
        var list = arr(rec.encounters).slice().sort(byDateTimeDesc);
        if (!list.length) {
            return none();
        }
        return table('mm-visits', 'visits-table',
            [t('col_date'), t('col_time'), t('col_kind'), t('col_dept'), t('col_ward'), t('col_doctor')],
            list.map(function (e) {
                var inpatientKind = e.kind !== 'outpatient';
                return h('tr', {
                    testid: 'visit-row', 'data-kind': e.kind, 'data-date': e.date,
                    'class': inpatientKind ? 'mm-row-inpatient' : null
                },
                    h('td.mm-mono', { text: fmtDate(e.date) }),
                    h('td.mm-mono', { text: fmtTime(e.time) }),
                    h('td', { text: kindLabel(e.kind) }),
                    named('td', e.dept, e.dept_name, 'dept'),
                    inpatientKind ? named('td', e.ward, wardText(e), 'ward') : h('td'),
                    named('td', e.doctor_id, e.doctor, 'doctor'));
            }));
    }

    function wardText(e) {
        var parts = [];
        if (e.ward_name || e.ward) {
            parts.push(e.ward_name || e.ward);
        }
        if (e.room) {
            parts.push(t('room_n', e.room));
        }
        if (e.bed) {
            parts.push(t('bed_n', e.bed));
        }
        return parts.join(' ');
    }

    function isStayEvent(e) {
        return e.kind && e.kind !== 'outpatient';
    }

    /*
     * Cut the inpatient events into stays: each starts at an admission and ends at a
     * discharge. A planned admission outside a stay opens a "planned" group of its own;
     * events before the first admission we know of form a stay whose start is unknown.
     */
    function stays(rec) {
        var ev = arr(rec.encounters).filter(isStayEvent).slice().sort(function (a, b) {
            return -byDateTimeDesc(a, b);
        });
        var out = [];
        var cur = null;
        ev.forEach(function (e) {
            if (e.kind === 'admission') {
                if (!(cur && cur.planned && !cur.start)) {
                    cur = { events: [] };
                    out.push(cur);
                }
                cur.start = e;
            } else if (!cur) {
                cur = { start: null, planned: e.kind === 'planned_admission' ? e : null, events: [] };
                out.push(cur);
            }
            cur.events.push(e);
            if (e.kind === 'discharge') {
                cur.end = e;
                cur = null;
            }
        });
        return out.reverse();
    }

    /* The stay going on now (admitted, not discharged), or null. */
    function currentStay(rec) {
        var list = stays(rec).filter(function (x) {
            return x.start || !x.planned; /* a stay, not only a plan */
        });
        var s = list.length ? list[0] : null;
        if (!s || !s.start || s.end) {
            return null;
        }
        var last = null;
        s.events.forEach(function (e) {
            if (!/^planned_/.test(e.kind) && (e.ward || e.room)) {
                last = e;
            }
        });
        /* day N of the stay as of the generation shown (the end of that backup), not today */
        var g = S.print ? S.print.generation : genById(S.gen);
        var asOf = g && /^\d{4}-\d{2}-\d{2}/.test(str(g.time)) ? Date.parse(fmtDate(g.time) + 'T00:00:00Z') : NaN;
        if (isNaN(asOf)) {
            var d0 = new Date();
            asOf = Date.UTC(d0.getFullYear(), d0.getMonth(), d0.getDate());
        }
        var days = Math.round((asOf - Date.parse(fmtDate(s.start.date) + 'T00:00:00Z')) / 86400000) + 1;
        return { stay: s, where: last ? wardText(last) : '', days: days > 0 ? days : '?' };
    }

    function secAdmissions(rec) {
        var list = stays(rec);
        if (!list.length) {
            return none();
        }
        var box = h('div.mm-stays');
        var now = currentStay(rec);
        list.forEach(function (s) {
            var current = now && s.start && now.stay.start === s.start;
            var title = s.start || !s.planned ?
                t('stay_title', s.start ? fmtDate(s.start.date) : t('stay_unknown_start'),
                    s.end ? fmtDate(s.end.date) : t('stay_open')) :
                t('stay_planned', fmtDate(s.planned.date));
            var stay = h('section.mm-stay', { testid: 'stay', 'data-current': current ? 'true' : 'false' },
                h('h3', { text: title }));
            if (current) {
                stay.classList.add('mm-stay-current');
                stay.appendChild(h('div.mm-current-stay', { testid: 'current-stay' },
                    h('strong', { text: t('stay_current') }), ' ',
                    h('span.mm-big', { text: now.where }), ' ',
                    h('span', { text: t('stay_since', fmtDate(s.start.date), now.days) })));
            }
            stay.appendChild(table('mm-stay-table', 'stay-table',
                [t('col_date'), t('col_time'), t('col_kind'), t('col_ward'), t('col_prior'), t('col_dept'), t('col_doctor')],
                s.events.slice().sort(byDateTimeDesc).map(function (e) {
                    var prior = [e.prior_ward_name || e.prior_ward, e.prior_room ? t('room_n', e.prior_room) : '']
                        .filter(Boolean).join(' ');
                    return h('tr', {
                        testid: 'admission-row', 'data-kind': e.kind, 'data-date': e.date,
                        'class': /^planned_/.test(e.kind) ? 'mm-row-planned' : null
                    },
                        h('td.mm-mono', { text: fmtDate(e.date) }),
                        h('td.mm-mono', { text: fmtTime(e.time) }),
                        h('td', { text: kindLabel(e.kind) }),
                        named('td', e.ward, wardText(e), 'ward'),
                        named('td', e.prior_ward, prior, 'prior'),
                        named('td', e.dept, e.dept_name, 'dept'),
                        named('td', e.doctor_id, e.doctor, 'doctor'));
                })));
            box.appendChild(stay);
        });
        return box;
    }

    function dxMarks(d) {
        var m = h('span.mm-marks');
        if (d.main) {
            m.appendChild(h('span.mm-tag.mm-tag-main', { testid: 'dx-main', text: t('dx_main') }));
        }
        if (d.suspected) {
            m.appendChild(h('span.mm-tag.mm-tag-suspected', { testid: 'dx-suspected', text: t('dx_suspected') }));
        }
        return m;
    }

    function secDiagnoses(rec) {
        var cur = arr(rec.diagnoses).slice().sort(function (a, b) {
            return (b.main ? 1 : 0) - (a.main ? 1 : 0) || cmpDesc(str(a.start_date), str(b.start_date));
        });
        var res = arr(rec.resolved_diagnoses).slice().sort(function (a, b) {
            return cmpDesc(str(a.end_date) + str(a.start_date), str(b.end_date) + str(b.start_date));
        });
        var box = h('div.mm-dx');
        box.appendChild(h('h3', { text: t('dx_current') }));
        box.appendChild(cur.length ? table('mm-dx-table', 'dx-current-table',
            [t('col_dx'), '', t('col_start'), t('col_icd10')],
            cur.map(function (d) {
                return h('tr', { testid: 'dx-row', 'data-status': 'current', 'data-icd10': d.icd10 },
                    h('td.mm-strong', { 'data-col': 'name', text: d.name }),
                    h('td', dxMarks(d)),
                    h('td.mm-mono', { 'data-col': 'start', text: fmtDate(d.start_date) }),
                    h('td.mm-mono', { text: str(d.icd10) }));
            })) : none());
        box.appendChild(h('h3', { text: t('dx_resolved') }));
        box.appendChild(res.length ? table('mm-dx-table.mm-dx-resolved', 'dx-resolved-table',
            [t('col_dx'), '', t('col_start'), t('col_end'), t('col_outcome'), t('col_icd10')],
            res.map(function (d) {
                return h('tr', { testid: 'dx-row', 'data-status': 'resolved', 'data-icd10': d.icd10 },
                    h('td', { 'data-col': 'name', text: d.name }),
                    h('td', dxMarks(d)),
                    h('td.mm-mono', { 'data-col': 'start', text: fmtDate(d.start_date) }),
                    h('td.mm-mono', { 'data-col': 'end', text: fmtDate(d.end_date) }),
                    h('td', { text: tcode('outcome_', d.outcome) }),
                    h('td.mm-mono', { text: str(d.icd10) }));
            })) : none());
        return box;
    }

    /* Prescriptions and injections: one card per order, newest first, drugs grouped by Rp. */
    function secOrders(list, injection, tid, allAdmins) {
        var admins = allAdmins.filter(function (a) {
            return !!a.injection === injection;
        });
        var byOrder = {};
        admins.forEach(function (a) {
            (byOrder[str(a.order_no)] = byOrder[str(a.order_no)] || []).push(a);
        });
        if (!list.length && !admins.length) {
            return none();
        }
        var sorted = list.slice().sort(function (a, b) {
            return cmpDesc(str(a.date) + str(a.order_no), str(b.date) + str(b.order_no));
        });
        var box = h('div.mm-orders');
        sorted.forEach(function (o) {
            var card = h('article.mm-order', { testid: tid + '-order', 'data-order': o.order_no, 'data-date': o.date },
                h('header.mm-order-head',
                    h('strong.mm-order-date', { text: fmtDate(o.date) }),
                    h('span.mm-tag', { text: o.inpatient ? t('inpatient') : t('outpatient') }),
                    o.dept ? h('span', t('col_dept') + ' ', named('span', o.dept, o.dept_name, 'dept')) : null,
                    o.doctor ? h('span', t('col_doctor') + ' ', named('span', o.doctor_id, o.doctor, 'doctor')) : null,
                    h('span.mm-muted', { text: t('order_no') + ' ' + str(o.order_no) })));
            orderedRps(o).forEach(function (x) {
                card.appendChild(rpBlock(o, x.rp, x.i, injection));
            });
            append(card, rawList(o.raw));
            var given = byOrder[str(o.order_no)];
            if (given) {
                delete byOrder[str(o.order_no)];
                card.appendChild(adminTable(given, t('admin_title')));
            }
            box.appendChild(card);
        });
        /* administrations whose order is not shown (not current, or its file unreadable) */
        var rest = [];
        Object.keys(byOrder).forEach(function (k) {
            rest = rest.concat(byOrder[k]);
        });
        if (rest.length) {
            box.appendChild(h('section.mm-admin-orphans', { testid: tid + '-admin-orphans' },
                adminTable(rest, t('admin_orphans'))));
        }
        return box;
    }

    /* A code shown by its name (the code itself when no message names it), the code on hover. */
    function named(tag, code, name, col) {
        var attrs = { text: str(name) || str(code) };
        if (col) {
            attrs['data-col'] = col;
        }
        if (code && name && String(name) !== String(code)) {
            attrs.title = String(code);
            attrs['data-code'] = String(code);
            attrs['class'] = 'mm-coded';
        }
        return h(tag, attrs);
    }

    /* Medication administrations (RXA): what, when, how much, route, who, where, status. */
    function adminTable(list, title) {
        var rows = list.slice().sort(function (a, b) {
            return cmpDesc(str(a.given_at) + str(a.code), str(b.given_at) + str(b.code));
        }).map(function (a) {
            return h('tr', { testid: 'admin-row', 'data-order': a.order_no, 'data-code': a.code, 'data-given': a.given_at },
                h('td.mm-mono', { 'data-col': 'given_at', text: fmtDateTime(a.given_at) + (a.ended_at && a.ended_at !== a.given_at ? ' – ' + fmtTime(a.ended_at) : '') }),
                h('td', { 'data-col': 'drug', text: a.name || a.code }),
                h('td', { 'data-col': 'amount', text: (str(a.dose) + ' ' + str(a.unit)).trim() }),
                named('td', a.route, a.route ? fmtRoute(a.route) : '', 'route'),
                named('td', a.given_by_id, a.given_by, 'given_by'),
                named('td', a.location, a.location_name, 'location'),
                h('td', { 'data-col': 'status', text: tcode('astatus_', a.completion) }));
        });
        return h('div.mm-admins', { testid: 'admins' },
            h('h4.mm-admin-title', { text: title + ' (' + list.length + ')' }),
            table('mm-admin-table', 'admin-table',
                [t('col_given_at'), t('col_drug'), t('col_amount'), t('route'), t('col_given_by'), t('col_location'), t('col_status')],
                rows));
    }

    /* Address, phones, emergency contacts (NK1) and insurance (IN1) of the current ADT-00. */
    function secProfile(rec) {
        var p = rec.patient;
        if (!p) {
            return h('div.mm-profile', { testid: 'profile' }, none(), secUninterpreted(rec));
        }
        var phoneText = function (ph) {
            var kind = ph.equipment === 'CP' ? t('phone_CP') : tcode('phone_', ph.use);
            return (kind ? kind + ' ' : '') + str(ph.number);
        };
        var box = h('div.mm-profile', { testid: 'profile' });
        var dl = h('dl.mm-profile-facts');
        if (p.address || p.postal_code) {
            dl.appendChild(h('div.mm-fact', h('dt', { text: t('prof_address') }),
                h('dd', { testid: 'profile-address', text: (p.postal_code ? '〒' + p.postal_code + ' ' : '') + str(p.address) })));
        }
        var phones = arr(p.phones);
        if (!phones.length && p.phone) {
            phones = [{ use: '', equipment: '', number: p.phone }];
        }
        if (phones.length) {
            var ul = h('ul.mm-phones');
            phones.forEach(function (ph) {
                ul.appendChild(h('li', { testid: 'profile-phone', 'data-number': ph.number, text: phoneText(ph) }));
            });
            dl.appendChild(h('div.mm-fact', h('dt', { text: t('prof_phones') }), h('dd', ul)));
        }
        if (p.updated_at) {
            dl.appendChild(h('div.mm-fact', h('dt', { text: t('prof_updated') }),
                h('dd', { text: fmtDateTime(p.updated_at) })));
        }
        box.appendChild(dl);
        box.appendChild(h('h3', { text: t('prof_contacts') }));
        var cs = arr(p.contacts);
        box.appendChild(cs.length ? table('mm-contacts', 'contacts-table',
            [t('col_name'), t('col_kana'), t('col_relationship'), t('col_phone'), t('col_address')],
            cs.map(function (c) {
                return h('tr', { testid: 'contact-row' },
                    h('td.mm-strong', { 'data-col': 'name', text: str(c.name) }),
                    h('td', { 'data-col': 'kana', text: str(c.kana) }),
                    named('td', c.relationship_code, c.relationship, 'relationship'),
                    h('td', { 'data-col': 'phone', text: arr(c.phones).map(phoneText).join(' / ') }),
                    h('td', { 'data-col': 'address', text: (c.postal_code ? '〒' + c.postal_code + ' ' : '') + str(c.address) }));
            })) : none());
        box.appendChild(h('h3', { text: t('prof_insurance') }));
        var ins = arr(p.insurance);
        box.appendChild(ins.length ? table('mm-insurance', 'insurance-table',
            [t('col_plan'), t('col_insurer'), t('col_valid'), t('col_relation')],
            ins.map(function (x) {
                return h('tr', { testid: 'insurance-row' },
                    named('td', x.plan_code, x.plan_name, 'plan'),
                    h('td.mm-mono', { 'data-col': 'insurer', text: str(x.insurer_no) }),
                    h('td.mm-mono', { 'data-col': 'valid', text: (x.valid_from || x.valid_to) ? fmtDate(x.valid_from) + ' – ' + fmtDate(x.valid_to) : '' }),
                    named('td', x.relation_code, x.relation, 'relation'));
            })) : none());
        box.appendChild(secUninterpreted(rec));
        return box;
    }

