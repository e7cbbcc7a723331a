    /* app.js, part 30-meds.js: medication: order lines as transcribed, the current medication, the
     * timeline, what was not interpreted. The parts are one function, concatenated in name order
     * at build time (src/lib/viewer/meson.build); they share its scope. */

    /* ---------- medication (issue 15): order lines as transcribed, current medication, timeline ----------
     *
     * Everything here renders the contract's JSON (docs/orders.md): a prescription drug line or an
     * injection Rp as a pharmacist transcribes it, the current-medication list as of a time, and
     * the timeline of every listed line. Screen and paper use the same functions.
     */

    var WEEKDAYS = { ja: ['日', '月', '火', '水', '木', '金', '土'], en: ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'] };

    /* "4" + "錠" → "4錠" (Japanese) / "4 tab" (English); "" when there is no amount */
    function qty(v, unit) {
        if (str(v) === '') {
            return '';
        }
        return str(v) + (lang === 'en' && unit ? ' ' : '') + str(unit);
    }

    /* 朝4錠・昼2錠・夕1錠: the per-timing amounts (a timing without a label is "n回目") */
    function perTimingText(list, unit) {
        return arr(list).map(function (p) {
            return (p.label || t('med_nth', p.n)) + (lang === 'en' ? ' ' : '') + qty(p.dose, unit);
        }).join(t('med_sep'));
    }

    /* 隔日 / 月・木 / the pattern's own text; "" when none */
    function patternText(p) {
        if (!p) {
            return '';
        }
        if (p.kind === 'weekdays' && arr(p.weekdays).length) {
            return arr(p.weekdays).map(function (d) {
                return WEEKDAYS[lang][d] || String(d);
            }).join(t('med_sep'));
        }
        if (p.kind === 'interval' && p.on > 0 && p.off >= 0) {
            return p.on === 1 && p.off === 1 ? t('med_every_other') : t('med_interval', p.on, p.off);
        }
        return str(p.text) || str(p.code);
    }

    function daysText(days, unit) {
        if (str(days) === '') {
            return '';
        }
        var u = str(unit);
        if (u === 'W' || u === 'w' || u === 'wk') {
            return t('med_weeks', days);
        }
        if (u === '' || u === 'D' || u === 'd') {
            return t('days', days);
        }
        return t('med_days_unit', days, u);
    }

    /* the day before "YYYY-MM-DD" (until is exclusive; people read the last day) */
    function dayBefore(d) {
        var m = /^(\d{4})-(\d{2})-(\d{2})/.exec(str(d));
        if (!m) {
            return str(d);
        }
        var x = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) - 86400000);
        return x.toISOString().slice(0, 10);
    }

    /* "2020-08-21から" / "(2026-08-21〜2026-09-02)" */
    function spanText(start, end) {
        if (start && end) {
            return t('med_span', fmtDateTime(start), fmtDateTime(end));
        }
        if (start) {
            return t('med_from', fmtDateTime(start));
        }
        if (end) {
            return t('med_until', fmtDateTime(end));
        }
        return '';
    }

    /* one labelled part of a line: <span class=mm-med-part data-part=…> */
    function part(name, text, cls) {
        if (!text) {
            return null;
        }
        return h('span.mm-med-part' + (cls ? '.' + cls : ''), { testid: 'rp-' + name, 'data-part': name, text: text });
    }

    /* the amount of a prescription drug: 1日7錠 (朝4錠・昼2錠・夕1錠), or 1回1錠 */
    function doseText(d) {
        var pt = arr(d.per_timing);
        if (pt.length) {
            /* the daily amount as written (RXE-19), else the sum of the timings when all are numbers */
            var sum = 0;
            pt.forEach(function (p) {
                sum += /^\d+(\.\d+)?$/.test(str(p.dose)) ? Number(p.dose) : NaN;
            });
            var total = d.daily_dose ? qty(d.daily_dose, d.daily_unit || d.unit) :
                isNaN(sum) ? '' : qty(String(Math.round(sum * 1000) / 1000), d.unit);
            var daily = total ? t('med_daily', total) + ' ' : '';
            return daily + '(' + perTimingText(pt, d.unit) + ')';
        }
        var once = d.dose ? t('med_once', qty(d.dose, d.unit)) : '';
        if (d.dose_max && str(d.dose_max) !== str(d.dose)) {
            once += t('med_dose_max', qty(d.dose_max, d.unit));
        }
        if (d.daily_dose) {
            once += (once ? ' ' : '') + t('med_daily', qty(d.daily_dose, d.daily_unit || d.unit));
        }
        return once;
    }

    /* 頓用 疼痛時 1日2回まで 10回分 */
    function prnParts(x) {
        return [
            x.prn ? part('prn', t('med_prn'), 'mm-med-prn') : null,
            /* the condition once: the usage text often names it already (内服・経口・疼痛時) */
            part('condition', str(x.usage).indexOf(str(x.condition)) >= 0 ? '' : str(x.condition)),
            part('max', str(x.tq_text)),
            part('total', str(x.total) ? t('med_total', x.total) : '')
        ];
    }

    /* raw[] entries: 「未解釈: RXE-8 …」, small but visible */
    function rawList(raw) {
        var list = arr(raw);
        if (!list.length) {
            return null;
        }
        var ul = h('ul.mm-raw-list', { testid: 'raw-list' });
        list.forEach(function (r) {
            ul.appendChild(h('li.mm-raw', { testid: 'raw', 'data-field': str(r.field), text: t('raw_item', str(r.field), str(r.text)) }));
        });
        return ul;
    }

    function flagParts(flags) {
        return arr(flags).map(function (f) {
            return h('strong.mm-med-flag', { testid: 'med-flag', 'data-flag': str(f), text: '【' + str(f) + '】' });
        });
    }

    /* 経路: 静脈内 (IV) */
    function routeText(x) {
        if (!x.route_name && !x.route) {
            return '';
        }
        var r = x.route_name && x.route && x.route_name !== x.route ? x.route_name + ' (' + x.route + ')' :
            x.route_name || fmtRoute(x.route);
        return t('route') + ': ' + r;
    }

    function stepText(step) {
        return step && step.n ? t('med_step', step.n, step.of || '?') : '';
    }

    /* The timeline's period of order @no, Rp @rpNo, drug @code (its last day worked out from the
     * days and the pattern by the server), or null. */
    function periodOf(no, rpNo, code) {
        var found = null;
        arr(medsShown && medsShown.timeline).forEach(function (row) {
            arr(row.periods).forEach(function (p) {
                if (!found && str(p.order_no) === str(no) && str(p.rp) === str(rpNo) && (!code || !row.code || row.code === code)) {
                    found = p;
                }
            });
        });
        return found;
    }

    /* A prescription drug line of Rp @rp of order @o as a pharmacist transcribes it. */
    function rxLine(o, rp, d) {
        var stepped = rp.step && rp.step.n;
        var per = rp.end ? null : periodOf(o.order_no, rp.rp, d.code);
        var last = per && per.until && !/T/.test(str(per.until)) ? dayBefore(per.until) : '';
        var when = stepped ? t('med_step_span', fmtDateTime(rp.start), rp.days || '?') :
            spanText(rp.start, rp.end || last);
        var li = h('li.mm-drug.mm-med-line', { testid: 'rp-drug', 'data-code': d.code, 'data-dose': str(d.dose), 'data-unit': str(d.unit) },
            flagParts(d.flags),
            h('span.mm-drug-name', { testid: 'med-name', text: d.name || d.code }),
            part('dose', doseText(d), 'mm-drug-dose'),
            part('usage', str(rp.usage)),
            part('pattern', patternText(rp.pattern), 'mm-med-pattern'),
            prnParts(rp),
            part('times', arr(rp.times).join(', ')),
            part('days', stepped ? '' : daysText(rp.days, rp.days_unit)),
            part('span', when),
            part('site', rp.site ? t('med_site', rp.site) : ''),
            part('route', routeText(rp)),
            part('dispense', d.dispense ? t('med_dispense', qty(d.dispense, d.dispense_unit)) : ''),
            part('form', str(d.form)),
            part('class', str(d.class)),
            arr(d.dispensing).length ? part('dispensing', t('med_dispensing', arr(d.dispensing).join('、'))) : null,
            arr(d.instructions).length ? part('instructions', t('med_instructions', arr(d.instructions).join('、')), 'mm-med-instr') : null,
            rawList(d.raw));
        return li;
    }

    /* An injection Rp: type, drugs with amounts and roles, route/site, times, start–end, rate. */
    function injRp(rp, drugs) {
        var ul = h('ul.mm-drugs');
        arr(rp.drugs).forEach(function (d) {
            var role = d.role === 'B' ? t('med_role_B') : d.role === 'A' ? t('med_role_A') : str(d.role);
            ul.appendChild(h('li.mm-drug.mm-inj-drug', { testid: 'rp-drug', 'data-code': d.code, 'data-role': str(d.role) },
                role ? h('span.mm-tag.mm-med-role', { text: role }) : null,
                h('span.mm-drug-name', { testid: 'med-name', text: d.name || d.code }),
                h('span.mm-drug-dose', { text: (str(d.dose) + ' ' + str(d.unit)).trim() })));
        });
        drugs.appendChild(ul);
        var rate = str(rp.rate) ? t('rate') + ': ' + str(rp.rate) + ' ' + str(rp.rate_unit) : '';
        return h('div.mm-rp-meta',
            part('type', str(rp.type_name), 'mm-med-type'),
            part('usage', str(rp.usage)),
            part('pattern', patternText(rp.pattern), 'mm-med-pattern'),
            prnParts(rp),
            part('route', routeText(rp)),
            part('site', rp.site ? t('med_site', rp.site) : ''),
            part('method', str(rp.method)),
            part('times', arr(rp.times).length ? t('med_times', arr(rp.times).join(', ')) : ''),
            part('days', daysText(rp.days, rp.days_unit)),
            part('span', rp.start || rp.end ? t('period') + ': ' + fmtDateTime(rp.start) + ' – ' + fmtDateTime(rp.end) : ''),
            part('rate', rate + (rate && rp.rate_per ? ' (' + rp.rate_per + ')' : '')),
            arr(rp.instructions).length ? part('instructions', t('med_instructions', arr(rp.instructions).join('、')), 'mm-med-instr') : null);
    }

    /* One Rp of an order card (prescription or injection). */
    function rpBlock(o, rp, i, injection) {
        var rpNo = /^\d{1,3}$/.test(str(rp.rp)) ? rp.rp : String(i + 1);
        var drugs = h('div.mm-rp-lines');
        var meta;
        if (injection) {
            meta = injRp(rp, drugs);
        } else {
            var ul = h('ul.mm-drugs');
            arr(rp.drugs).forEach(function (d) {
                ul.appendChild(rxLine(o, rp, d));
            });
            drugs.appendChild(ul);
        }
        var st = stepText(rp.step);
        return h('div.mm-rp', { testid: 'rp', 'data-rp': rp.rp, 'data-step': rp.step ? String(rp.step.n) : null },
            h('div.mm-rp-no', { text: t('rp', rpNo) }, st ? h('span.mm-med-step', { testid: 'rp-step', text: st }) : null),
            h('div.mm-rp-body', drugs, meta || null, rawList(rp.raw)));
    }

    /* The Rps of an order: a taper's steps in the order of their start, the others as written. */
    function orderedRps(o) {
        var rps = arr(o.rps).map(function (rp, i) {
            return { rp: rp, i: i };
        });
        return rps.sort(function (a, b) {
            var sa = a.rp.step && a.rp.step.n ? str(a.rp.start) : '';
            var sb = b.rp.step && b.rp.step.n ? str(b.rp.start) : '';
            return sa && sb && sa !== sb ? (sa < sb ? -1 : 1) : a.i - b.i;
        });
    }

    /* ---- current medication ---- */

    /* the current_medication of a patient answer (top level, or inside the record) */
    function medsOf(answer) {
        if (!answer) {
            return null;
        }
        var cm = answer.current_medication || (answer.record && answer.record.current_medication);
        return cm && typeof cm === 'object' ? cm : null;
    }

    /* whether prescriptions or injections could not all be read */
    function medsIncomplete(rec) {
        return arr(rec && rec.read_failures).some(function (f) {
            return (f.failed > 0 || f.folders > 0) && (f.section === 'prescriptions' || f.section === 'injections' ||
                /^OMP-/.test(str(f.type)));
        });
    }

    function medItem(it) {
        var inj = it.kind === 'injection';
        var line = h('li.mm-med-item', {
            testid: 'current-med', 'data-kind': str(it.kind), 'data-code': str(it.code),
            'data-order-no': str(it.order_no), 'data-today': str(it.today), 'data-prn': it.prn ? 'true' : 'false'
        });
        var name = inj ? arr(it.drugs).map(function (d) {
            return (d.name || d.code) + (d.dose ? ' ' + qty(d.dose, d.unit) : '');
        }).join(' + ') : '';
        append(line, [
            flagParts(it.flags),
            h('strong.mm-med-name', { testid: 'med-name', text: name || it.name || it.code }),
            inj ? part('type', str(it.name) !== name ? str(it.name) : '', 'mm-med-type') : part('dose', doseText(it), 'mm-drug-dose'),
            part('usage', str(it.usage)),
            part('pattern', patternText(it.pattern), 'mm-med-pattern'),
            it.today === 'dose' ? part('today', t('med_today_dose'), 'mm-med-today-dose') :
                it.today === 'rest' ? part('today', t('med_today_rest'), 'mm-med-today-rest') : null,
            prnParts(it),
            part('times', arr(it.times).length ? t('med_times', arr(it.times).join(', ')) : ''),
            part('route', routeText(it)),
            part('site', it.site ? t('med_site', it.site) : ''),
            part('rate', str(it.rate) ? t('rate') + ': ' + it.rate + ' ' + str(it.rate_unit) : ''),
            part('days', daysText(it.days, '')),
            part('span', it.open_ended ? t('med_from', fmtDateTime(it.start)) + ' ' + t('med_open') :
                spanText(it.start, it.until ? (/T/.test(str(it.until)) ? it.until : dayBefore(it.until)) : '')),
            part('step', stepText(it.step), 'mm-med-step'),
            arr(it.instructions).length ? part('instructions', t('med_instructions', arr(it.instructions).join('、')), 'mm-med-instr') : null,
            part('who', [it.dept_name, it.doctor].filter(Boolean).join(' ')),
            part('order', it.order_no ? t('order_no') + ' ' + it.order_no + (it.rp ? ' ' + t('rp', it.rp) : '') : '', 'mm-muted')
        ]);
        return line;
    }

    /* The "as of" control: a date-time, the generation's time by default; says which is shown. */
    function asOfControl(cm, g) {
        var genT = g && g.time ? str(g.time).slice(0, 16) : '';
        /* while an answer is on its way, the time asked for (reset: the generation's), not the
         * previous answer's: the control never shows one time while saying it shows another */
        var shown = S.medsBusy ? str(S.medsAsOf || genT) : str(cm && cm.as_of).slice(0, 16);
        var custom = !!(S.medsAsOf && S.medsAsOf !== genT);
        var input = h('input.mm-med-asof-input', {
            type: 'datetime-local', id: 'mm-med-asof', testid: 'meds-asof-input', value: shown || genT
        });
        var form = h('form.mm-med-asof.mm-no-print', {
            testid: 'meds-asof',
            on: {
                submit: function (ev) {
                    ev.preventDefault();
                    if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}$/.test(input.value.slice(0, 16))) {
                        loadMeds(input.value.slice(0, 16));
                    }
                }
            }
        },
            h('label', { 'for': 'mm-med-asof', text: t('med_asof_label') }), input,
            h('button.mm-btn', { type: 'submit', testid: 'meds-asof-apply' }, t('med_asof_apply')),
            custom ? h('button.mm-btn', {
                type: 'button', testid: 'meds-asof-reset',
                on: {
                    click: function () {
                        loadMeds(null);
                    }
                }
            }, t('med_asof_reset')) : null,
            h('span.mm-med-asof-state', {
                testid: 'meds-asof-state', 'data-custom': custom ? 'true' : 'false',
                text: custom ? t('med_asof_custom') : t('med_asof_gen', fmtDateTime(genT))
            }));
        return form;
    }

    /* Ask /api/patient again for the current medication as of @asOf (null: the generation's time). */
    function loadMeds(asOf) {
        var pid = S.pid;
        var gen = S.gen;
        S.medsAsOf = asOf;
        S.medsBusy = true;
        render();
        api('GET', '/api/patient?id=' + encodeURIComponent(pid) + (gen ? '&gen=' + encodeURIComponent(gen) : '') +
            (asOf ? '&as_of=' + encodeURIComponent(asOf) : ''))
            .then(function (j) {
                if (S.pid !== pid || S.gen !== gen || !S.patient) {
                    return;
                }
                S.medsBusy = false;
                S.patient.meds = medsOf(j);
                render();
            }, function (e) {
                if (apiFailed(e)) {
                    return;
                }
                S.medsBusy = false;
                S.medsError = errText(e);
                render();
            });
    }

    /* 「服用中・投与中の薬（<as_of> 時点）」: the first section under the patient band. */
    function secCurrentMeds(rec, cm, g, print) {
        var asOf = cm && cm.as_of ? fmtDateTime(cm.as_of) : g && g.time ? fmtDateTime(g.time) : '?';
        var box = h('section.mm-current-meds', { testid: 'current-meds', 'aria-label': t('med_title', asOf) },
            h('h2.mm-med-title', { testid: 'current-meds-title', text: t('med_title', asOf) }));
        if (!print) {
            box.appendChild(asOfControl(cm, g));
        }
        if (S.medsBusy && !print) {
            box.appendChild(h('p.mm-loading', { testid: 'meds-loading', text: t('loading') }));
        }
        if (S.medsError && !print) {
            box.appendChild(h('p.mm-error', { role: 'alert', text: S.medsError }));
            S.medsError = null;
        }
        if (!cm) {
            box.appendChild(h('p.mm-none', { testid: 'current-meds-missing', text: t('med_missing') }));
            return box;
        }
        var items = arr(cm.items);
        var und = arr(cm.undetermined);
        var incomplete = medsIncomplete(rec);
        if (items.length) {
            var ul = h('ul.mm-med-list', { testid: 'current-meds-list' });
            items.forEach(function (it) {
                ul.appendChild(medItem(it));
            });
            box.appendChild(ul);
        }
        if (und.length) {
            var ul2 = h('ul.mm-med-undetermined', { testid: 'meds-undetermined-list' });
            und.forEach(function (u) {
                ul2.appendChild(h('li', { testid: 'meds-undetermined', 'data-order-no': str(u.order_no) },
                    h('strong', { text: str(u.name) }), ' ',
                    h('span', { text: t('med_undetermined', str(u.reason)) }),
                    u.order_no ? h('span.mm-muted', { text: ' ' + t('order_no') + ' ' + u.order_no }) : null));
            });
            box.appendChild(ul2);
        }
        if (incomplete) {
            box.appendChild(h('p.mm-none.mm-none-failed', { testid: 'current-meds-incomplete', role: 'alert', text: t('med_incomplete') }));
        } else if (!items.length && !und.length) {
            box.appendChild(h('p.mm-none', { testid: 'current-meds-none', text: t('med_none') }));
        }
        return box;
    }

    /* ---- timeline ---- */

    function dayNum(d) {
        var m = /^(\d{4})-(\d{2})-(\d{2})/.exec(str(d));
        return m ? Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) / 86400000 : NaN;
    }

    function periodText(p) {
        var end = p.open_ended ? t('med_open') : p.until ? fmtDate(/T/.test(str(p.until)) ? p.until : dayBefore(p.until)) : '';
        return [t('med_range', fmtDate(p.start), end), qty(p.dose, p.unit), str(p.usage), patternText(p.pattern),
            p.prn ? t('med_prn') : '', p.status === 'current' ? t('med_now') : ''].filter(Boolean).join(' ');
    }

    /* One row per drug: a bar per period on a common date axis, and the same as text. */
    function secTimeline(cm) {
        var rows = arr(cm && cm.timeline);
        if (!rows.length) {
            return null;
        }
        var lo = Infinity;
        var hi = -Infinity;
        var asOf = dayNum(cm.as_of);
        rows.forEach(function (r) {
            arr(r.periods).forEach(function (p) {
                var a = dayNum(p.start);
                var b = p.until ? dayNum(p.until) : asOf + 1;
                if (!isNaN(a)) {
                    lo = Math.min(lo, a);
                    hi = Math.max(hi, isNaN(b) ? a + 1 : b);
                }
            });
        });
        if (!isFinite(lo)) { /* no period with a readable start: the text only */
            lo = isNaN(asOf) ? 0 : asOf;
            hi = lo + 1;
        }
        if (!isNaN(asOf)) {
            hi = Math.max(hi, asOf + 1);
        }
        var W = 400;
        var span = hi > lo ? hi - lo : 1;
        var x = function (d) {
            return Math.max(0, Math.min(W, (d - lo) / span * W));
        };
        var body = rows.map(function (r) {
            var g = svg('svg', { viewBox: '0 0 ' + W + ' 16', 'class': 'mm-tl-bars', 'aria-hidden': 'true', preserveAspectRatio: 'none' });
            var cur = false;
            arr(r.periods).forEach(function (p) {
                var a = dayNum(p.start);
                if (isNaN(a)) {
                    return;
                }
                var b = p.until ? dayNum(p.until) : asOf + 1;
                var now = p.status === 'current';
                cur = cur || now;
                g.appendChild(svg('rect', {
                    x: x(a), y: 3, width: Math.max(2, x(isNaN(b) ? a + 1 : b) - x(a)), height: 10,
                    'class': 'mm-tl-bar' + (now ? ' mm-tl-now' : '') + (p.prn ? ' mm-tl-prn' : '') + (p.pattern ? ' mm-tl-pattern' : '')
                }));
            });
            if (!isNaN(asOf)) {
                g.appendChild(svg('line', { x1: x(asOf), x2: x(asOf), y1: 0, y2: 16, 'class': 'mm-tl-asof' }));
            }
            var list = h('ul.mm-tl-periods');
            arr(r.periods).forEach(function (p) {
                list.appendChild(h('li', {
                    testid: 'timeline-period', 'data-status': str(p.status), 'data-start': str(p.start),
                    'class': p.status === 'current' ? 'mm-tl-period-now' : null, text: periodText(p)
                }));
            });
            return h('tr', { testid: 'timeline-row', 'data-code': str(r.code), 'data-current': cur ? 'true' : 'false' },
                h('th', { scope: 'row', text: (cur ? '● ' : '') + (r.name || r.code) }),
                h('td.mm-tl-graph', g),
                h('td', list));
        });
        return h('section.mm-timeline', { testid: 'med-timeline' },
            h('h3', { text: t('tl_title') }),
            h('p.mm-muted', { text: t('tl_axis', fmtDate(new Date(lo * 86400000).toISOString()), fmtDate(new Date((hi - 1) * 86400000).toISOString())) }),
            table('mm-tl-table', 'timeline-table', [t('col_drug'), t('tl_graph'), t('tl_periods')], body));
    }

    /* ---- what mamori did not interpret (patient-info tab) ---- */

    function secUninterpreted(rec) {
        var list = arr(rec.uninterpreted);
        var box = h('section.mm-uninterpreted', { testid: 'uninterpreted' }, h('h3', { text: t('unint_title') }));
        if (!list.length) { /* of what was read (unread files are said so above the tab) */
            box.appendChild(h('p.mm-none', { testid: 'uninterpreted-none', text: t('unint_none') }));
            return box;
        }
        var rows = [];
        list.forEach(function (m) {
            arr(m.fields).forEach(function (f) {
                rows.push(h('tr', { testid: 'uninterpreted-row', 'data-type': str(m.type), 'data-field': str(f.field) },
                    h('td', { text: typeName(m.type) }),
                    h('td.mm-mono', { text: fmtDateTime(m.file_time) }),
                    h('td.mm-mono', { text: str(f.field) }),
                    h('td.mm-raw', { text: str(f.text) })));
            });
        });
        box.appendChild(table('mm-unint-table', 'uninterpreted-table',
            [t('col_kind'), t('col_date'), t('unint_field'), t('unint_text')], rows));
        return box;
    }

    /* "OMP-02" → 注射オーダ (the code itself when not known) */
    function typeName(type) {
        return tcode('dtype_', str(type).slice(0, 6)) || str(type);
    }

    /* 「出典: 注射オーダ 2020-08-25」 (+ 「ほかに: 処方オーダ」) */
    function allergySource(a) {
        var s = a.source || {};
        var txt = s.type ? t('allergy_source', typeName(s.type), fmtDate(s.file_time)) : '';
        var also = arr(a.also_in).map(typeName).join('、');
        if (also) {
            txt += (txt ? ' ' : '') + t('allergy_also', also);
        }
        return txt ? h('span.mm-allergy-source', { testid: 'allergy-source', text: txt }) : null;
    }

    /* 「※ADT-00なし: 処方オーダ 2026-08-20 のPIDより」 when the identity is not from ADT-00 */
    function patientSource(p) {
        if (!p || !p.source || p.source === 'ADT-00') {
            return null;
        }
        return h('p.mm-patient-source', { testid: 'patient-source', role: 'note', 'data-source': str(p.source),
            text: t('patient_source', typeName(p.source), fmtDate(p.source_time)) });
    }

