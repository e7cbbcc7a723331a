    /* app.js, part 40-labs.js: read failures (never "none" where files could not be read) and the
     * laboratory matrix and chart. The parts are one function, concatenated in name order at build
     * time (src/lib/viewer/meson.build); they share its scope. */

    /* ---------- read failures ---------- */

    /* The tab a data type's items are shown in. */
    function tabOfType(type, sectionName) {
        var ty = str(type);
        if (/^OML-01/.test(ty)) {
            return ['labs'];
        }
        if (/^OMG-0/.test(ty)) {
            return ['exams'];
        }
        switch (sectionName) {
        case 'encounters':
            return ['visits', 'admissions'];
        case 'diagnoses':
        case 'prescriptions':
        case 'injections':
        case 'labs':
        case 'exams':
            return [sectionName];
        case 'documents':
            return ['documents', 'images'];
        default:
            return ['profile']; /* patient, allergies, diet orders, unknown folders */
        }
    }

    /* The read failures of a record shown in tab @tab (@hard: only files left out or folders). */
    function failuresOf(rec, tab, hard) {
        return arr(rec && rec.read_failures).filter(function (f) {
            if (hard && !(f.failed > 0 || f.folders > 0)) {
                return false;
            }
            return tabOfType(f.type, f.section).indexOf(tab) >= 0;
        });
    }

    /* Ask once per patient and generation which other generation could help (screen only). */
    function loadRecovery(pid, gen, rec) {
        S.recovery = null;
        var failing = arr(rec.read_failures).some(function (f) {
            return f.failed > 0 || f.folders > 0;
        });
        if (!failing || S.print) {
            return;
        }
        S.recovery = { pid: pid, gen: gen, busy: true, help: {}, searched: 0 };
        api('GET', '/api/recovery?id=' + encodeURIComponent(pid) + (gen ? '&gen=' + encodeURIComponent(gen) : ''))
            .then(function (j) {
                if (!S.recovery || S.recovery.pid !== pid || S.recovery.gen !== gen) {
                    return;
                }
                S.recovery = { pid: pid, gen: gen, busy: false, help: j.help || {}, searched: j.searched || 0 };
                render();
            }, function (e) {
                if (apiFailed(e)) {
                    return;
                }
                if (S.recovery && S.recovery.pid === pid) {
                    S.recovery = { pid: pid, gen: gen, busy: false, help: {}, searched: 0, error: errText(e) };
                    render();
                }
            });
    }

    function typeLabel(f) {
        var n = lang === 'en' ? f.type_name_en : f.type_name;
        return n || (f.section === 'documents' ? t('tab_documents') : t('fail_other'));
    }

    /* What a generation that could help says, for one failed type. */
    function recoveryNote(f, print) {
        /* mamori print found it when writing the file; the screen asks /api/recovery */
        var r = print ? printRecovery : S.recovery;
        if (print && !r) {
            return h('p.mm-fail-help', { testid: 'fail-help', text: t('fail_help_print') });
        }
        if (!r || r.busy) {
            /* printed before the answer came: paper points to the screen */
            return h('p.mm-fail-help', { testid: 'fail-help', 'data-state': 'busy' },
                h('span.mm-screen-only', { text: t('fail_help_busy') }),
                h('span.mm-print-only', { text: t('fail_help_print') }));
        }
        var g = r.help[f.type];
        if (!g) {
            return h('p.mm-fail-help', { testid: 'fail-help', 'data-state': 'none', text: r.error || t('fail_help_none', r.searched) });
        }
        var known = genById(g.id);
        return h('p.mm-fail-help', { testid: 'fail-help', 'data-state': 'found', 'data-generation': g.id },
            h('span', { text: t('fail_help', known ? genLabel(known) : fmtDateTime(g.time) + ' (' + g.short + ')') }), ' ',
            print ? null : h('button.mm-btn', {
                type: 'button', testid: 'fail-help-open',
                on: {
                    click: function () {
                        changeGeneration(g.id);
                    }
                }
            }, t('fail_help_open')));
    }

    /*
     * Put what could not be read above a section: how many files of which kind, why, and
     * which generation could help. A section with failures never says "nothing recorded".
     */
    function withFailures(name, rec, print, body) {
        var fs = failuresOf(rec, name, false);
        if (!fs.length) {
            return body;
        }
        var hard = fs.filter(function (f) {
            return f.failed > 0 || f.folders > 0;
        });
        var box = h('div.mm-failures' + (hard.length ? '.mm-failures-hard' : ''), {
            testid: 'read-failures', role: hard.length ? 'alert' : 'status'
        });
        if (hard.length) {
            box.appendChild(h('h3.mm-fail-title', { text: '⚠ ' + t('fail_title') }));
        }
        fs.forEach(function (f) {
            var item = h('div.mm-failure', {
                testid: 'read-failure', 'data-type': f.type, 'data-failed': String(f.failed || 0),
                'data-folders': String(f.folders || 0), 'data-damaged': String(f.damaged || 0)
            });
            if (f.failed > 0) {
                item.appendChild(h('p', { testid: 'fail-files', text: t('fail_files', typeLabel(f), f.type, f.failed, f.files) }));
            }
            if (f.folders > 0) {
                item.appendChild(h('p', { testid: 'fail-folders', text: t('fail_folders', typeLabel(f), f.type, f.folders) }));
            }
            if (f.damaged > 0) {
                item.appendChild(h('p', { testid: 'fail-damaged', text: t('fail_damaged', typeLabel(f), f.type, f.damaged) }));
            }
            if (f.reason) {
                item.appendChild(h('p.mm-muted', { text: t('fail_reason', f.reason) }));
            }
            if (f.failed > 0 || f.folders > 0) {
                item.appendChild(recoveryNote(f, print));
            }
            box.appendChild(item);
        });
        var wrap = h('div.mm-section-with-failures', box);
        if (hard.length) {
            /* nothing read is not "nothing recorded" */
            var nones = body && body.getAttribute && body.getAttribute('data-testid') === 'none-recorded' ? [body] :
                Array.prototype.slice.call(body ? body.querySelectorAll('[data-testid=none-recorded]') : []);
            nones.forEach(function (el) {
                var repl = h('p.mm-none.mm-none-failed', { testid: 'none-failed', text: t('fail_none_here') });
                if (el === body) {
                    body = repl;
                } else {
                    el.parentNode.replaceChild(repl, el);
                }
            });
        }
        if (body) {
            wrap.appendChild(body);
        }
        return wrap;
    }

    /* ---------- labs ---------- */

    function flagInfo(flag) {
        var f = str(flag);
        if (f === 'H' || f === 'HH' || f === '>') {
            return { cls: 'mm-flag-h', mark: '↑' };
        }
        if (f === 'L' || f === 'LL' || f === '<') {
            return { cls: 'mm-flag-l', mark: '↓' };
        }
        if (f) {
            return { cls: 'mm-flag-other', mark: '' };
        }
        return null;
    }

    function labCell(c, code, time) {
        var td = h('td.mm-lab-cell', { testid: 'lab-cell', 'data-test': code, 'data-time': time });
        if (!c) {
            return td;
        }
        td.setAttribute('data-flag', str(c.flag));
        td.appendChild(h('span.mm-lab-value', { text: str(c.value) }));
        var fi = flagInfo(c.flag);
        if (fi) {
            td.classList.add(fi.cls);
            td.appendChild(h('span.mm-lab-flag', { text: ' ' + str(c.flag) + fi.mark }));
        }
        return td;
    }

    function timeHead(tm) {
        return h('th.mm-lab-time', { scope: 'col', 'data-time': tm },
            h('span.mm-lab-date', { text: fmtDate(tm) }), h('span.mm-lab-hm', { text: fmtTime(tm) }));
    }

    function secLabs(labs, print) {
        if (!labs || !arr(labs.tests).length || !arr(labs.times).length) {
            return none();
        }
        var times = labs.times;
        var box = h('div.mm-labs');
        /* screen: one matrix, newest at the right, scrolled to the newest on display */
        var headRow = h('tr',
            h('th.mm-sticky', { scope: 'col', text: t('col_test') }),
            h('th.mm-lab-unit', { scope: 'col', text: t('col_unit') }),
            h('th.mm-lab-range', { scope: 'col', text: t('col_range') }),
            times.map(timeHead));
        var body = h('tbody');
        labs.tests.forEach(function (test, r) {
            var row = arr(labs.cells[r]);
            var show = function () {
                S.chartTest = S.chartTest === r ? null : r;
                drawChart(box, labs);
            };
            body.appendChild(h('tr.mm-row-link', {
                testid: 'lab-row', 'data-test': test.code, tabindex: '0',
                'aria-label': t('chart_title', test.name),
                on: {
                    click: show,
                    keydown: function (ev) {
                        if (ev.key === 'Enter' || ev.key === ' ') {
                            ev.preventDefault();
                            show();
                        }
                    }
                }
            },
                h('th.mm-sticky.mm-lab-name', { scope: 'row', text: test.name || test.code }),
                h('td.mm-lab-unit', { text: str(test.unit) }),
                h('td.mm-lab-range', { text: str(test.range) }),
                times.map(function (tm, c) {
                    return labCell(row[c], test.code, tm);
                })));
        });
        var scroller = h('div.mm-lab-scroll.mm-screen-only', { testid: 'lab-scroll', tabindex: '0' },
            h('table.mm-table.mm-lab-matrix', { testid: 'lab-matrix' }, h('thead', headRow), body));
        box.appendChild(h('p.mm-hint.mm-no-print', { text: t('labs_hint') }));
        box.appendChild(h('div.mm-chart-slot', { testid: 'lab-chart-slot' }));
        box.appendChild(scroller);
        if (!print) {
            window.requestAnimationFrame(function () {
                scroller.scrollLeft = scroller.scrollWidth;
            });
        }
        /* paper: the same matrix cut into tables of a few columns each, newest first */
        var per = 7;
        var paper = h('div.mm-print-only.mm-lab-print', { testid: 'lab-paper' });
        for (var c0 = times.length - 1; c0 >= 0; c0 -= per) {
            var cols = [];
            for (var c = c0; c > c0 - per && c >= 0; c--) {
                cols.push(c);
            }
            var pbody = h('tbody');
            labs.tests.forEach(function (test, r) {
                var row = arr(labs.cells[r]);
                if (!cols.some(function (c2) {
                    return row[c2];
                })) {
                    return;
                }
                pbody.appendChild(h('tr',
                    h('th', { scope: 'row', text: test.name || test.code }),
                    h('td.mm-lab-unit', { text: str(test.unit) }),
                    h('td.mm-lab-range', { text: str(test.range) }),
                    cols.map(function (c2) {
                        var td = labCell(row[c2], test.code, times[c2]);
                        td.removeAttribute('data-testid');
                        return td;
                    })));
            });
            paper.appendChild(h('table.mm-table.mm-lab-matrix.mm-lab-paper',
                h('thead', h('tr',
                    h('th', { scope: 'col', text: t('col_test') }),
                    h('th', { scope: 'col', text: t('col_unit') }),
                    h('th', { scope: 'col', text: t('col_range') }),
                    cols.map(function (c2) {
                        return timeHead(times[c2]);
                    }))),
                pbody));
        }
        box.appendChild(paper);
        if (S.chartTest !== null && !print) {
            drawChart(box, labs);
        }
        return box;
    }

    function num(v) {
        var s = str(v).trim().replace(/^[<>≦≧=]+/, '');
        if (!/^[-+]?(\d+\.?\d*|\.\d+)$/.test(s)) {
            return NaN;
        }
        return Number(s);
    }

    function drawChart(box, labs) {
        var slot = box.querySelector('.mm-chart-slot');
        clear(slot);
        var rows = box.querySelectorAll('[data-testid=lab-row]');
        for (var i = 0; i < rows.length; i++) {
            rows[i].classList.toggle('mm-row-selected', i === S.chartTest);
            rows[i].setAttribute('aria-expanded', i === S.chartTest ? 'true' : 'false');
        }
        if (S.chartTest === null || !labs.tests[S.chartTest]) {
            return;
        }
        var test = labs.tests[S.chartTest];
        var row = arr(labs.cells[S.chartTest]);
        var pts = [];
        labs.times.forEach(function (tm, c) {
            var v = row[c] ? num(row[c].value) : NaN;
            if (!isNaN(v)) {
                pts.push({ t: Date.parse(fmtDate(tm) + 'T' + (fmtTime(tm) || '00:00') + ':00Z'), v: v, c: row[c], tm: tm });
            }
        });
        var fig = h('figure.mm-chart', { testid: 'lab-chart', 'data-test': test.code },
            h('figcaption',
                h('strong', { text: t('chart_title', test.name) }),
                test.unit ? h('span.mm-muted', { text: ' (' + test.unit + ')' }) : null,
                test.range ? h('span.mm-muted', { text: ' ' + t('col_range') + ' ' + test.range }) : null,
                h('button.mm-btn.mm-btn-small', {
                    type: 'button', testid: 'chart-close',
                    on: {
                        click: function () {
                            S.chartTest = null;
                            drawChart(box, labs);
                        }
                    }
                }, '× ' + t('chart_close'))));
        if (!pts.length) {
            fig.appendChild(h('p', { text: t('chart_none') }));
            slot.appendChild(fig);
            return;
        }
        var W = 720;
        var H = 240;
        var L = 56;
        var R = 16;
        var T = 14;
        var B = 40;
        var rng = /^\s*(-?\d+\.?\d*)\s*[-–〜~]\s*(-?\d+\.?\d*)\s*$/.exec(str(test.range));
        var lo = Math.min.apply(null, pts.map(function (p) {
            return p.v;
        }));
        var hi = Math.max.apply(null, pts.map(function (p) {
            return p.v;
        }));
        if (rng) {
            lo = Math.min(lo, Number(rng[1]));
            hi = Math.max(hi, Number(rng[2]));
        }
        if (hi === lo) {
            hi += Math.abs(hi) * 0.1 || 1;
            lo -= Math.abs(lo) * 0.1 || 1;
        }
        var pad = (hi - lo) * 0.08;
        lo -= pad;
        hi += pad;
        var t0 = pts[0].t;
        var t1 = pts[pts.length - 1].t;
        var x = function (tt) {
            return t1 === t0 ? L + (W - L - R) / 2 : L + (tt - t0) / (t1 - t0) * (W - L - R);
        };
        var y = function (v) {
            return T + (hi - v) / (hi - lo) * (H - T - B);
        };
        var s = svg('svg', {
            viewBox: '0 0 ' + W + ' ' + H, 'class': 'mm-chart-svg', role: 'img',
            'aria-label': t('chart_title', test.name), 'data-testid': 'lab-chart-svg'
        });
        if (rng) {
            s.appendChild(svg('rect', {
                x: L, y: y(Number(rng[2])), width: W - L - R,
                height: Math.max(1, y(Number(rng[1])) - y(Number(rng[2]))),
                'class': 'mm-chart-band', 'data-testid': 'lab-chart-band'
            }));
        }
        for (var k = 0; k <= 4; k++) {
            var v = lo + (hi - lo) * k / 4;
            s.appendChild(svg('line', { x1: L, x2: W - R, y1: y(v), y2: y(v), 'class': 'mm-chart-grid' }));
            s.appendChild(svg('text', { x: L - 6, y: y(v) + 4, 'text-anchor': 'end', 'class': 'mm-chart-label' },
                String(Math.round(v * 100) / 100)));
        }
        var d = pts.map(function (p, j) {
            return (j ? 'L' : 'M') + x(p.t).toFixed(1) + ' ' + y(p.v).toFixed(1);
        }).join(' ');
        s.appendChild(svg('path', { d: d, 'class': 'mm-chart-line' }));
        var lastLabel = -1e9;
        var lastX = x(pts[pts.length - 1].t);
        pts.forEach(function (p, j) {
            var fi = flagInfo(p.c.flag);
            var dot = svg('circle', {
                cx: x(p.t), cy: y(p.v), r: 5,
                'class': 'mm-chart-dot' + (fi ? ' ' + fi.cls : ''), 'data-testid': 'lab-chart-point',
                'data-time': p.tm, 'data-value': p.c.value
            });
            dot.appendChild(svg('title', {}, fmtDateTime(p.tm) + '  ' + p.c.value + ' ' + str(p.c.flag)));
            s.appendChild(dot);
            /* date labels at least 80 px apart; the newest one always, flush right */
            var px = x(p.t);
            var isLast = j === pts.length - 1;
            if ((px - lastLabel >= 80 && lastX - px >= 80) || isLast) {
                lastLabel = px;
                s.appendChild(svg('text', {
                    x: px, y: H - 14, 'text-anchor': isLast && pts.length > 1 ? 'end' : j === 0 ? 'start' : 'middle',
                    'class': 'mm-chart-label'
                }, fmtDate(p.tm)));
            }
        });
        fig.appendChild(s);
        slot.appendChild(fig);
        if (fig.scrollIntoView) {
            fig.scrollIntoView({ block: 'nearest' });
        }
    }

