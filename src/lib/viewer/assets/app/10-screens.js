    /* app.js, part 10-screens.js: DOM helpers, dates and labels, the state, history, the API,
     * generations, login, search and the ward screen. The parts are one function, concatenated in
     * name order at build time (src/lib/viewer/meson.build); they share its scope. */

    /* ---------- DOM helpers (text only, never markup) ---------- */

    /* h('tag.class1.class2', {attr: v, testid: x, on: {click: fn}}, child...) */
    function h(spec, attrs) {
        var parts = spec.split('.');
        var el = document.createElement(parts[0] || 'div');
        for (var i = 1; i < parts.length; i++) {
            el.classList.add(parts[i]);
        }
        var first = 2;
        if (attrs !== null && attrs !== undefined &&
            (typeof attrs !== 'object' || Array.isArray(attrs) || attrs.nodeType)) {
            first = 1; /* no attributes: the second argument is already a child */
            attrs = null;
        }
        if (attrs) {
            Object.keys(attrs).forEach(function (k) {
                var v = attrs[k];
                if (v === undefined || v === null || v === false) {
                    return;
                }
                if (k === 'on') {
                    Object.keys(v).forEach(function (ev) {
                        el.addEventListener(ev, v[ev]);
                    });
                } else if (k === 'testid') {
                    el.setAttribute('data-testid', v);
                } else if (k === 'text') {
                    el.textContent = v;
                } else if (k === 'style') {
                    throw new Error('inline style attributes are forbidden by the CSP');
                } else {
                    el.setAttribute(k, v === true ? '' : String(v));
                }
            });
        }
        for (var j = first; j < arguments.length; j++) {
            append(el, arguments[j]);
        }
        return el;
    }

    function append(el, c) {
        if (c === undefined || c === null || c === false) {
            return;
        }
        if (Array.isArray(c)) {
            c.forEach(function (x) {
                append(el, x);
            });
        } else if (typeof c === 'string' || typeof c === 'number') {
            el.appendChild(document.createTextNode(String(c)));
        } else {
            el.appendChild(c);
        }
    }

    function clear(el) {
        while (el.firstChild) {
            el.removeChild(el.firstChild);
        }
    }

    var SVGNS = 'http://www.w3.org/2000/svg';

    function svg(tag, attrs, text) {
        var el = document.createElementNS(SVGNS, tag);
        Object.keys(attrs || {}).forEach(function (k) {
            el.setAttribute(k, String(attrs[k]));
        });
        if (text !== undefined) {
            el.textContent = text;
        }
        return el;
    }

    function str(v) {
        return v === undefined || v === null ? '' : String(v);
    }

    /* ---------- dates, ages, labels ---------- */

    /* "2025-04-04T14:28..." or "20250404..." → "2025-04-04" */
    function fmtDate(s) {
        s = str(s);
        var m = /^(\d{4})-?(\d{2})-?(\d{2})/.exec(s);
        return m ? m[1] + '-' + m[2] + '-' + m[3] : s;
    }

    /* the time part of "2025-04-04T14:28" / "202504041428" / "14:28" → "14:28" */
    function fmtTime(s) {
        s = str(s);
        var m = /T(\d{2}):?(\d{2})/.exec(s) || /^\d{8}(\d{2})(\d{2})/.exec(s) ||
            /^(\d{2}):(\d{2})/.exec(s);
        return m ? m[1] + ':' + m[2] : '';
    }

    function fmtDateTime(s) {
        var d = fmtDate(s);
        var tm = fmtTime(s);
        return tm ? d + ' ' + tm : d;
    }

    function ageOf(birth, atDate) {
        var m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(str(birth));
        if (!m) {
            return -1;
        }
        var now = atDate || new Date();
        var y = now.getFullYear() - Number(m[1]);
        var md = (now.getMonth() + 1) * 100 + now.getDate();
        if (md < Number(m[2]) * 100 + Number(m[3])) {
            y--;
        }
        return y >= 0 && y < 150 ? y : -1;
    }

    function fmtAge(age) {
        return typeof age === 'number' && age >= 0 ? t('age_years', age) : t('unknown');
    }

    function fmtSex(s) {
        return s ? tcode('sex_', s) : t('unknown');
    }

    function fmtRoute(r) {
        var l = tcode('route_', r);
        return l && l !== r ? l + ' (' + r + ')' : str(r);
    }

    function nowText() {
        var d = new Date();
        var p2 = function (n) {
            return (n < 10 ? '0' : '') + n;
        };
        return d.getFullYear() + '-' + p2(d.getMonth() + 1) + '-' + p2(d.getDate()) + ' ' +
            p2(d.getHours()) + ':' + p2(d.getMinutes());
    }

    function cmpDesc(a, b) {
        return a < b ? 1 : a > b ? -1 : 0;
    }

    /* ---------- state ---------- */

    var S = {
        print: null, /* the parsed #mm-print-data in print mode */
        user: null,
        idle: 0,
        gens: [],
        gen: null, /* the generation id in use */
        noGood: false, /* every generation with an index is suspect: the default is one of them */
        defaultGen: null, /* the server's default generation (the newest good one) */
        view: 'login', /* login | search | patient */
        notice: null, /* dictionary key shown above the login form */
        query: '',
        searching: false,
        search: null, /* last search answer */
        searchError: null,
        pid: null,
        patient: null, /* {record, labs, meds: its current_medication} */
        medsAsOf: null, /* the "as of" chosen for the current medication, null: the generation's time */
        medsBusy: false,
        medsError: null,
        recovery: null, /* {pid, gen, help: {type: generation|null}, searched} or {busy} */
        patientError: null,
        tab: 'visits',
        ward: null, /* the ward shown on the ward screen, null: the list of wards */
        wards: null, /* its answer, or {error} */
        chartTest: null,
        doc: null, /* {path, title} */
        lastRequest: 0
    };
    var root = null;
    var idleTimer = null;
    var medsShown = null; /* the current_medication of the patient being rendered */

    /* ---------- history: a URL per screen, never a patient ID or name ---------- */

    /*
     * The browser's history on the viewer PC is shared, so a patient's URL carries a random
     * handle that only this page maps to the patient, in memory: meaningless after a logout
     * (the map is wiped), after a reload, and in any other browser. #/search, #/p/<handle>/<tab>,
     * #/wards, #/wards/<ward code>.
     */
    var handles = { toPid: {}, ofPid: {} };
    /* mamori print: the files of the patient being rendered ({path: CDA text or JPEG data: URL}) */
    var printFiles = null;
    /* mamori print: for the patient being rendered, where the failed sections are readable
     * ({help: {type: {id, short, time} or null}, searched}), as /api/recovery answers */
    var printRecovery = null;

    function handleOf(pid) {
        if (!handles.ofPid[pid]) {
            var b = new Uint8Array(12);
            window.crypto.getRandomValues(b);
            var hx = '';
            for (var i = 0; i < b.length; i++) {
                hx += (b[i] < 16 ? '0' : '') + b[i].toString(16);
            }
            handles.ofPid[pid] = hx;
            handles.toPid[hx] = pid;
        }
        return handles.ofPid[pid];
    }

    function routeOf() {
        if (!S.user || S.view === 'login') {
            return '';
        }
        if (S.view === 'patient' && S.pid) {
            return '#/p/' + handleOf(S.pid) + '/' + S.tab;
        }
        if (S.view === 'wards') {
            return '#/wards' + (S.ward ? '/' + encodeURIComponent(S.ward) : '');
        }
        return '#/search';
    }

    /* Record the screen shown in the history (a new entry unless @replace). */
    function pushRoute(replace) {
        var r = routeOf();
        if (S.print || r === window.location.hash || (!r && !window.location.hash)) {
            return;
        }
        var url = r || window.location.pathname;
        if (replace) {
            window.history.replaceState(null, '', url);
        } else {
            window.history.pushState(null, '', url);
        }
    }

    /* Back or Forward: show the screen of the URL (an unknown handle shows the search). */
    function onPopState() {
        if (!S.user) {
            return;
        }
        var m = /^#\/p\/([0-9a-f]{24})\/([a-z]+)$/.exec(window.location.hash);
        var w = /^#\/wards(?:\/(.+))?$/.exec(window.location.hash);
        closeOverlay();
        if (m && handles.toPid[m[1]]) {
            var tab = TABS.indexOf(m[2]) >= 0 ? m[2] : 'visits';
            if (S.view === 'patient' && S.pid === handles.toPid[m[1]] && S.patient) {
                selectTab(tab, false, true);
            } else {
                S.tab = tab;
                openPatient(handles.toPid[m[1]], true, true);
            }
        } else if (w) {
            showWards(w[1] ? decodeURIComponent(w[1]) : null, true);
        } else {
            S.view = 'search';
            S.patient = null;
            S.pid = null;
            render();
            if (m) {
                pushRoute(true); /* a handle of an ended session: forget it */
            }
        }
    }

    var lastPing = 0;

    /* ---------- API ---------- */

    function ApiError(status, body) {
        this.status = status;
        this.body = body || {};
    }

    function api(method, path, body) {
        var opt = {
            method: method,
            credentials: 'same-origin',
            cache: 'no-store',
            headers: { Accept: 'application/json' }
        };
        if (body !== undefined) {
            opt.headers['Content-Type'] = 'application/json';
            opt.body = JSON.stringify(body);
        }
        S.lastRequest = Date.now();
        armIdle();
        return window.fetch(path, opt).then(
            function (res) {
                return res.text().then(function (txt) {
                    var j = {};
                    try {
                        j = txt ? JSON.parse(txt) : {};
                    } catch (e) {
                        j = { error: 'bad_json' };
                    }
                    if (res.ok) {
                        return j;
                    }
                    throw new ApiError(res.status, j);
                });
            },
            function () {
                throw new ApiError(0, { error: 'network' });
            });
    }

    /* Every failure of an /api call except login comes through here. */
    function apiFailed(err) {
        if (err instanceof ApiError && err.status === 401) {
            sessionGone('session_expired');
            return true;
        }
        if (!(err instanceof ApiError)) {
            window.console.error(err);
        }
        return false;
    }

    function errText(err) {
        if (err instanceof ApiError && err.status === 0) {
            return t('net_error');
        }
        if (err instanceof ApiError && err.body.error === 'repository') {
            return t('medium_error');
        }
        if (err instanceof ApiError && err.body.error === 'damaged') {
            return t('damaged_error');
        }
        if (err instanceof ApiError) {
            return t('server_error', err.status + (err.body.error ? ' ' + err.body.error : ''));
        }
        return t('server_error', String(err));
    }

    /* Forget everything about the patient and show the login form. */
    function sessionGone(noticeKey) {
        S.user = null;
        S.gens = [];
        S.gen = null;
        S.noGood = false;
        S.defaultGen = null;
        S.query = '';
        S.searching = false;
        S.search = null;
        S.searchError = null;
        S.pid = null;
        S.patient = null;
        S.patientError = null;
        S.chartTest = null;
        S.doc = null;
        S.view = 'login';
        S.notice = noticeKey;
        S.ward = null;
        S.wards = null;
        handles = { toPid: {}, ofPid: {} }; /* every handle in the history is meaningless now */
        pushRoute(true);
        if (idleTimer) {
            window.clearTimeout(idleTimer);
            idleTimer = null;
        }
        closeOverlay();
        render();
    }

    /*
     * The server forgets a session after idle_timeout_s without a request. The page must not
     * keep showing a record on an unattended PC after that, so: when nothing was requested for
     * that long, ask /api/session; a 401 wipes the screen. While the reader is active (keys,
     * mouse, scrolling) a light /api/session request at most once a minute keeps the session.
     */
    function armIdle() {
        if (idleTimer) {
            window.clearTimeout(idleTimer);
            idleTimer = null;
        }
        if (!S.user || !S.idle) {
            return;
        }
        idleTimer = window.setTimeout(function () {
            idleTimer = null;
            api('GET', '/api/session').then(function () {}, function (e) {
                apiFailed(e);
            });
        }, (S.idle + 2) * 1000);
    }

    function onActivity() {
        if (!S.user || S.print) {
            return;
        }
        var now = Date.now();
        if (now - lastPing < 60000 || now - S.lastRequest < 60000) {
            return;
        }
        lastPing = now;
        api('GET', '/api/session').then(function () {}, function (e) {
            apiFailed(e);
        });
    }

    /* ---------- generations ---------- */

    function genById(id) {
        for (var i = 0; i < S.gens.length; i++) {
            if (S.gens[i].id === id) {
                return S.gens[i];
            }
        }
        return null;
    }

    /* backup's mark on a generation (its backup ended with exit status 4): written, but its
     * SS-MIX2 data gave no patient index, or far fewer patients than the generation before */
    var ATTN = {
        ja: {
            label: '要確認',
            banner: 'この世代はバックアップ時に「要確認」と判定されています',
            no_index: 'SS-MIX2 のデータがあるのに患者索引がありません。',
            few_patients: '患者数が前の世代の 90% 未満です（{0} 人、前の世代は {1} 人）。',
            not_indexed: '索引に入っていない SS-MIX2 ストレージがあります。',
            more: 'ここにいない患者がいる可能性があります。前の世代も確かめてください。'
        },
        en: {
            label: 'needs attention',
            banner: 'This generation was marked "needs attention" when it was backed up',
            no_index: 'Its SS-MIX2 data have no patient index.',
            few_patients: 'It holds under 90% of the previous generation\'s patients ({0}, before {1}).',
            not_indexed: 'Some SS-MIX2 storages are not in the index.',
            more: 'Patients may be missing here. Check the previous generation too.'
        }
    };

    function attnText(key, a, b) {
        var s = (ATTN[lang] || ATTN.ja)[key] || ATTN.ja[key];
        return s.replace('{0}', String(a)).replace('{1}', String(b));
    }

    function attnBanner(g) {
        var why = [];
        (g.attention || []).forEach(function (k) {
            why.push(ATTN.ja[k] ? attnText(k, g.patients, g.parent_patients) : k);
        });
        return h('div.mm-banner.mm-banner-suspect', { role: 'alert', testid: 'banner-attention' },
            h('strong', { text: '⚠ ' + attnText('banner') }), ' ', why.join(' ') + ' ' + attnText('more'));
    }

    /* The guard's reasons of @g in the page's language (null when none were recorded). */
    function guardSaid(g) {
        var said = g.guard_said;
        return said ? (said[lang] || said.ja || null) : null;
    }

    /* A suspect generation not accepted: the red alert with its reasons in words; when no good
     * generation is left (every one with an index is suspect) it says so: never pretend. */
    function suspectBanner(g) {
        var why = guardSaid(g);
        var b = h('div.mm-banner.mm-banner-suspect', { role: 'alert', testid: 'banner-suspect' },
            h('strong', { text: '⚠ ' + t('banner_suspect') }), ' ', t('banner_suspect_more'));
        if (why) {
            b.appendChild(h('ul.mm-banner-reasons', { testid: 'banner-suspect-reasons' },
                why.split('\n').filter(function (l) { return l; }).map(function (l) {
                    return h('li', { text: l });
                })));
        }
        if (S.noGood && g.id === S.defaultGen) {
            b.appendChild(h('p.mm-banner-nogood', { testid: 'banner-no-good', text: t('banner_no_good') }));
        }
        return b;
    }

    function genLabel(g) {
        var s = fmtDateTime(g.time);
        if (g.name) {
            s += ' ' + g.name;
        }
        s += ' (' + (g.short || str(g.id).slice(0, 12)) + ')';
        if (g.latest) {
            s += ' ' + t('gen_latest');
        }
        if (g.guard === 'suspect' && !g.guard_accepted) {
            s += ' ⚠' + t('gen_suspect');
        } else if (g.guard === 'suspect') {
            s += ' ✓' + t('gen_accepted');
        }
        if (g.has_index === false) {
            s += ' ' + t('gen_noindex');
        }
        if (g.attention && g.attention.length) {
            s += ' ⚠' + attnText('label');
        }
        return s;
    }

    function banners(g) {
        var out = [];
        if (!g) {
            return out;
        }
        if (g.guard === 'suspect' && !g.guard_accepted) {
            out.push(suspectBanner(g));
        } else if (g.guard === 'suspect') {
            out.push(h('div.mm-banner.mm-banner-accepted', { role: 'status', testid: 'banner-accepted' },
                h('strong', { text: '✓ ' + t('banner_accepted') }), ' ', t('banner_accepted_more')));
        }
        if (g.attention && g.attention.length) {
            out.push(attnBanner(g));
        }
        if (!g.latest) {
            out.push(h('div.mm-banner.mm-banner-old', { role: 'status', testid: 'banner-old' },
                h('strong', { text: t('banner_old', fmtDateTime(g.time)) })));
        }
        return out;
    }

    function loadGenerations() {
        return api('GET', '/api/generations').then(function (j) {
            S.gens = j.generations || [];
            S.noGood = !!j.no_good;
            S.defaultGen = j['default'] || null;
            if (!S.gen || !genById(S.gen)) {
                S.gen = j['default'] || (S.gens[0] && S.gens[0].id) || null;
            }
        });
    }

    function changeGeneration(id) {
        S.gen = id;
        S.chartTest = null;
        S.doc = null;
        if (S.view === 'patient' && S.pid) {
            openPatient(S.pid, true);
        } else if (S.view === 'wards') {
            showWards(S.ward, true);
        } else if (S.query) {
            runSearch(S.query);
        } else {
            render();
        }
    }

    /* ---------- login ---------- */

    function doLogin(user, pass, form) {
        var btn = form.querySelector('button[type=submit]');
        var err = form.querySelector('[data-testid=login-error]');
        err.textContent = '';
        err.hidden = true;
        btn.disabled = true;
        form.classList.add('mm-busy');
        form.setAttribute('aria-busy', 'true');
        btn.querySelector('.mm-btn-label').textContent = t('login_busy');
        api('POST', '/api/login', { user: user, passphrase: pass }).then(function (j) {
            S.user = j.user || user || '?';
            S.idle = Number(j.idle_timeout_s) || 0;
            S.notice = null;
            S.view = 'search';
            pushRoute(true);
            return loadGenerations().then(render, function (e) {
                if (!apiFailed(e)) {
                    S.searchError = errText(e);
                    render();
                }
            });
        }, function (e) {
            var retry = 0;
            var msg;
            if (e instanceof ApiError && e.status === 401) {
                msg = t('login_wrong');
            } else if (e instanceof ApiError && e.status === 429) {
                retry = Number(e.body.retry_after_s) || 30;
                msg = t('login_many', retry);
            } else if (e instanceof ApiError && e.status === 0) {
                msg = t('net_error');
            } else {
                msg = t('login_failed', e instanceof ApiError ? e.status + ' ' + str(e.body.error) : e);
            }
            form.classList.remove('mm-busy');
            form.removeAttribute('aria-busy');
            btn.querySelector('.mm-btn-label').textContent = t('login_submit');
            err.textContent = msg;
            err.hidden = false;
            var pw = form.querySelector('[data-testid=login-passphrase]');
            pw.value = '';
            if (retry > 0) {
                var until = Date.now() + retry * 1000;
                var tick = function () {
                    var left = Math.ceil((until - Date.now()) / 1000);
                    if (!form.isConnected) {
                        return;
                    }
                    if (left <= 0) {
                        btn.disabled = false;
                        err.hidden = true;
                        return;
                    }
                    err.textContent = t('login_many', left);
                    window.setTimeout(tick, 1000);
                };
                tick();
            } else {
                btn.disabled = false;
            }
            pw.focus();
        });
    }

    function viewLogin() {
        var userIn = h('input', {
            id: 'mm-login-user', type: 'text', name: 'user', autocomplete: 'off',
            autocapitalize: 'off', spellcheck: 'false', testid: 'login-user',
            'aria-describedby': 'mm-login-user-hint'
        });
        var passIn = h('input', {
            id: 'mm-login-pass', type: 'password', name: 'passphrase', autocomplete: 'off',
            required: true, testid: 'login-passphrase'
        });
        var form = h('form.mm-card.mm-login', { testid: 'login-form', novalidate: true },
            h('h2', { text: t('login_title') }),
            S.notice ? h('p.mm-notice', { role: 'status', testid: 'login-notice', text: t(S.notice) }) : null,
            h('p', { text: t('login_lead') }),
            h('div.mm-field',
                h('label', { 'for': 'mm-login-pass', text: t('login_pass') }),
                passIn),
            h('div.mm-field',
                h('label', { 'for': 'mm-login-user', text: t('login_user') }),
                userIn,
                h('p.mm-hint', { id: 'mm-login-user-hint', text: t('login_user_hint') })),
            h('p.mm-error', { role: 'alert', testid: 'login-error', hidden: true }),
            h('button.mm-btn.mm-btn-primary', { type: 'submit', testid: 'login-submit' },
                h('span.mm-spinner', { 'aria-hidden': 'true' }),
                h('span.mm-btn-label', { text: t('login_submit') })));
        form.addEventListener('submit', function (ev) {
            ev.preventDefault();
            var btn = form.querySelector('button[type=submit]');
            if (btn.disabled) {
                return;
            }
            if (!passIn.value) {
                passIn.focus();
                return;
            }
            doLogin(userIn.value.trim(), passIn.value, form);
        });
        window.setTimeout(function () {
            passIn.focus();
        }, 0);
        return h('main.mm-main.mm-main-login', { id: 'mm-main' }, form);
    }

    /* ---------- search ---------- */

    function runSearch(q) {
        S.query = q;
        S.view = 'search';
        S.searchError = null;
        S.search = null;
        if (!q.trim()) {
            S.searchError = t('search_bad');
            render();
            return;
        }
        S.searching = true;
        render();
        var url = '/api/search?q=' + encodeURIComponent(q) + (S.gen ? '&gen=' + encodeURIComponent(S.gen) : '');
        var gen = S.gen;
        api('GET', url).then(function (j) {
            if (S.query !== q || S.gen !== gen) {
                return; /* a newer search replaced this one */
            }
            S.searching = false;
            S.search = j;
            render();
            var first = root.querySelector('[data-testid=result-row]');
            if (first && j.results && j.results.length === 1) {
                first.focus();
            }
        }, function (e) {
            S.searching = false;
            if (apiFailed(e)) {
                return;
            }
            S.searchError = e instanceof ApiError && e.status === 400 ? t('search_bad') : errText(e);
            render();
        });
    }

    function viewSearch() {
        var input = h('input', {
            id: 'mm-q', type: 'search', name: 'q', autocomplete: 'off', spellcheck: 'false',
            testid: 'search-input', 'aria-describedby': 'mm-q-hint', value: S.query
        });
        input.value = S.query;
        var form = h('form.mm-search', { role: 'search', testid: 'search-form' },
            h('label.mm-search-label', { 'for': 'mm-q', text: t('search_label') }),
            h('div.mm-search-row', input,
                h('button.mm-btn.mm-btn-primary', { type: 'submit', testid: 'search-submit', text: t('search_button') })),
            h('p.mm-hint', { id: 'mm-q-hint', text: t('search_hint') }));
        form.addEventListener('submit', function (ev) {
            ev.preventDefault();
            runSearch(input.value);
        });
        var out = h('div.mm-results', { 'aria-live': 'polite' });
        if (S.searching) {
            out.appendChild(h('p.mm-loading', { text: t('search_busy') }));
        } else if (S.searchError) {
            out.appendChild(h('p.mm-error', { role: 'alert', testid: 'search-error', text: S.searchError }));
        } else if (S.search) {
            var rs = S.search.results || [];
            if (!rs.length) {
                out.appendChild(h('p.mm-empty', { testid: 'search-empty', text: t('search_empty', S.query) }));
            } else {
                var total = Number(S.search.total) || rs.length;
                out.appendChild(h('p.mm-count', {
                    testid: 'search-count',
                    text: total > rs.length ? t('search_more', total, rs.length) : t('search_count', rs.length)
                }));
                out.appendChild(resultsTable(rs));
            }
        }
        window.setTimeout(function () {
            if (!root.querySelector('[data-testid=result-row]:focus')) {
                input.focus();
            }
        }, 0);
        return h('main.mm-main', { id: 'mm-main' },
            h('section.mm-card', { 'aria-labelledby': 'mm-search-h' },
                h('div.mm-card-head',
                    h('h2', { id: 'mm-search-h', text: t('search_title') }),
                    h('button.mm-btn', {
                        type: 'button', testid: 'wards-button',
                        on: {
                            click: function () {
                                showWards(null, false);
                            }
                        }
                    }, t('ward_button'))),
                form, out));
    }

    /* ---------- ward screen (current inpatients by ward, for paper operation) ---------- */

    function showWards(ward, fromHistory) {
        S.view = 'wards';
        S.ward = ward;
        S.wards = null;
        S.pid = null;
        S.patient = null;
        if (!fromHistory) {
            pushRoute(false);
        }
        render();
        var gen = S.gen;
        api('GET', '/api/wards?' + (ward ? 'ward=' + encodeURIComponent(ward) + '&' : '') +
            (gen ? 'gen=' + encodeURIComponent(gen) : '')).then(function (j) {
            if (S.view !== 'wards' || S.ward !== ward || S.gen !== gen) {
                return;
            }
            S.wards = j;
            render();
        }, function (e) {
            if (apiFailed(e)) {
                return;
            }
            S.wards = { error: errText(e) };
            render();
        });
    }

    /* Day N of a stay that began on @since, as of the generation shown (not today). */
    function stayDay(since) {
        var g = genById(S.gen);
        var asOf = g && /^\d{4}-\d{2}-\d{2}/.test(str(g.time)) ? Date.parse(fmtDate(g.time) + 'T00:00:00Z') : NaN;
        var st = Date.parse(fmtDate(since) + 'T00:00:00Z');
        if (isNaN(asOf) || isNaN(st)) {
            return '';
        }
        var n = Math.round((asOf - st) / 86400000) + 1;
        return n > 0 ? t('day_n', n) : '';
    }

    function genDate(g) {
        var m = g ? /^(\d{4})-(\d{2})-(\d{2})/.exec(str(g.time)) : null;
        return m ? new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3])) : undefined;
    }

    function viewWards() {
        var g = genById(S.gen);
        var main = h('main.mm-main.mm-main-wards', { id: 'mm-main', testid: 'wards-view' });
        var bar = h('div.mm-toolbar.mm-no-print',
            h('button.mm-btn', {
                type: 'button', testid: S.ward ? 'ward-back' : 'back-button',
                on: {
                    click: function () {
                        if (S.ward) {
                            showWards(null, false);
                        } else {
                            S.view = 'search';
                            pushRoute(false);
                            render();
                        }
                    }
                }
            }, '← ' + (S.ward ? t('ward_back') : t('back'))),
            S.ward && S.wards && !S.wards.error ? h('button.mm-btn', {
                type: 'button', testid: 'print-button',
                on: {
                    click: function () {
                        window.print();
                    }
                }
            }, t('print')) : null);
        main.appendChild(bar);
        var card = h('section.mm-card', { 'aria-labelledby': 'mm-wards-h' });
        main.appendChild(card);
        var list = S.wards && S.wards.list ? arr(S.wards.list.wards) : [];
        if (S.ward) {
            var pts = list.length ? arr(list[0].patients) : [];
            card.appendChild(h('h2', { id: 'mm-wards-h', testid: 'ward-title', text: t('ward_of', S.ward, pts.length) }));
            card.appendChild(h('p.mm-print-meta', { testid: 'print-meta' },
                h('span', { text: t('app_title') }),
                g ? h('span', { text: t('print_as_of', genLabel(g)) }) : null,
                h('span.mm-printed-at', { text: t('printed_at', nowText()) })));
        } else {
            card.appendChild(h('h2', { id: 'mm-wards-h', text: t('ward_title') }));
            card.appendChild(h('p.mm-hint', { text: t('ward_lead') }));
        }
        if (!S.wards) {
            card.appendChild(h('p.mm-loading', { text: t('loading') }));
            return main;
        }
        if (S.wards.error) {
            card.appendChild(h('p.mm-error', { role: 'alert', testid: 'wards-error', text: S.wards.error }));
            return main;
        }
        if (!S.ward) {
            if (!list.length) {
                card.appendChild(h('p.mm-empty', { testid: 'wards-empty', text: t('ward_none') }));
                return main;
            }
            card.appendChild(h('ul.mm-ward-list', { testid: 'ward-list' }, list.map(function (w) {
                return h('li', h('button.mm-btn.mm-ward-btn', {
                    type: 'button', testid: 'ward-item', 'data-ward': w.ward,
                    on: {
                        click: function () {
                            showWards(w.ward, false);
                        }
                    }
                }, t('ward_n', w.ward, w.count)));
            })));
            return main;
        }
        var pts2 = list.length ? arr(list[0].patients) : [];
        if (!pts2.length) {
            card.appendChild(h('p.mm-empty', { testid: 'wards-empty', text: t('ward_missing', S.ward) }));
            return main;
        }
        var at = genDate(g);
        card.appendChild(table('mm-ward-table', 'ward-table',
            [t('col_room'), t('col_bed'), t('col_name'), t('col_kana'), t('col_id'), t('col_sex'), t('col_age'),
                t('col_birth'), t('col_since'), t('col_day'), t('col_allergy')],
            pts2.map(function (p) {
                return patientRow('ward-row', p.id, false, [
                    h('td', { 'data-col': 'room', text: str(p.room) }),
                    h('td', { 'data-col': 'bed', text: str(p.bed) }),
                    h('td.mm-strong', { 'data-col': 'name', text: str(p.name) }),
                    h('td', { 'data-col': 'kana', text: str(p.kana) }),
                    h('td.mm-mono', { 'data-col': 'id', text: str(p.id) }),
                    h('td', { 'data-col': 'sex', text: fmtSex(p.sex) }),
                    h('td.mm-num', { 'data-col': 'age', text: fmtAge(ageOf(p.birth_date, at)) }),
                    h('td.mm-mono', { 'data-col': 'birth', text: fmtDate(p.birth_date) }),
                    h('td.mm-mono', { 'data-col': 'since', text: fmtDate(p.since) }),
                    h('td.mm-num', { 'data-col': 'day', text: stayDay(p.since) }),
                    wardAllergyCell(p)]);
            })));
        return main;
    }

    /* The ward table's allergy cell: the count, or "none recorded" only when every file of the
     * record was read; "unknown" (unreadable files, no allergy found) is marked like a finding. */
    function wardAllergyCell(p) {
        if (p.allergies) {
            return h('td.mm-allergy-cell', { 'data-col': 'allergy', text: '⚠ ' + t('allergy_yes', p.allergies) });
        }
        if (p.allergies_unknown) {
            return h('td.mm-allergy-cell.mm-allergy-unknown', {
                'data-col': 'allergy', 'data-unknown': '1', text: '⚠ ' + t('allergy_unknown_short')
            });
        }
        return h('td', { 'data-col': 'allergy', text: t('allergy_no') });
    }

    /* A table row (@testid) that opens patient @pid on a click, Enter or Space; with @arrows,
     * ArrowDown and ArrowUp move to the next and the previous row. @cells: its cells */
    function patientRow(testid, pid, arrows, cells) {
        var open = function () {
            openPatient(pid, false);
        };
        var tr = h('tr.mm-row-link', {
            tabindex: '0', testid: testid, 'data-pid': pid,
            on: {
                click: open,
                keydown: function (ev) {
                    if (ev.key === 'Enter' || ev.key === ' ') {
                        ev.preventDefault();
                        open();
                    } else if (arrows && ev.key === 'ArrowDown' && tr.nextElementSibling) {
                        ev.preventDefault();
                        tr.nextElementSibling.focus();
                    } else if (arrows && ev.key === 'ArrowUp' && tr.previousElementSibling) {
                        ev.preventDefault();
                        tr.previousElementSibling.focus();
                    }
                }
            }
        }, cells);
        return tr;
    }

    function resultsTable(rs) {
        var body = h('tbody');
        rs.forEach(function (r) {
            body.appendChild(patientRow('result-row', r.id, true, [
                h('td.mm-mono', { 'data-col': 'id', text: r.id }),
                h('td.mm-strong', { 'data-col': 'name', text: r.name }),
                h('td', { 'data-col': 'kana', text: r.kana }),
                h('td', { 'data-col': 'sex', text: fmtSex(r.sex) }),
                h('td.mm-num', { 'data-col': 'age', text: fmtAge(r.age) }),
                h('td.mm-mono', { 'data-col': 'birth', text: fmtDate(r.birth_date) })]));
        });
        return h('table.mm-table.mm-results-table', { testid: 'search-results' },
            h('thead', h('tr',
                h('th', { scope: 'col', text: t('col_id') }),
                h('th', { scope: 'col', text: t('col_name') }),
                h('th', { scope: 'col', text: t('col_kana') }),
                h('th', { scope: 'col', text: t('col_sex') }),
                h('th', { scope: 'col', text: t('col_age') }),
                h('th', { scope: 'col', text: t('col_birth') }))),
            body);
    }

