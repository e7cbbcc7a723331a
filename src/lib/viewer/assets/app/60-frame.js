    /* app.js, part 60-frame.js: the page frame, the print mode of `mamori print`, and the start
     * (ends the function 00-strings.js opens). The parts are one function, concatenated in name
     * order at build time (src/lib/viewer/meson.build); they share its scope. */

    /* ---------- frame ---------- */

    function langSwitch() {
        var mk = function (code, label) {
            return h('button.mm-lang-btn', {
                type: 'button', lang: code, testid: 'lang-' + code, 'aria-pressed': lang === code ? 'true' : 'false',
                on: {
                    click: function () {
                        setLang(code);
                    }
                }
            }, label);
        };
        return h('div.mm-lang.mm-no-print', { role: 'group', 'aria-label': t('lang_label') },
            mk('ja', '日本語'), mk('en', 'English'));
    }

    function setLang(code) {
        lang = code;
        try {
            window.localStorage.setItem(LANG_KEY, code);
        } catch (e) {
            /* not kept: fine */
        }
        if (S.print) {
            renderPrint();
        } else {
            render();
        }
    }

    function topbar() {
        var right = h('div.mm-topbar-right');
        if (S.user) {
            if (S.gens.length) {
                var sel = h('select.mm-gen-select', {
                    id: 'mm-gen', testid: 'generation-select',
                    on: {
                        change: function (ev) {
                            changeGeneration(ev.target.value);
                        }
                    }
                });
                S.gens.forEach(function (g) {
                    var o = h('option', { value: g.id, text: genLabel(g) });
                    if (g.id === S.gen) {
                        o.selected = true;
                    }
                    sel.appendChild(o);
                });
                right.appendChild(h('div.mm-gen',
                    h('label', { 'for': 'mm-gen', text: t('gen_label') }), sel));
            }
            right.appendChild(h('span.mm-user', { testid: 'current-user', text: t('logged_in_as', S.user) }));
            right.appendChild(h('button.mm-btn.mm-btn-logout', {
                type: 'button', testid: 'logout-button',
                on: {
                    click: function () {
                        api('POST', '/api/logout', {}).then(function () {
                            sessionGone('logged_out');
                        }, function (e) {
                            if (!apiFailed(e)) {
                                sessionGone('logged_out');
                            }
                        });
                    }
                }
            }, t('logout')));
        }
        right.appendChild(langSwitch());
        return h('header.mm-topbar.mm-no-print', { testid: 'topbar' },
            h('div.mm-brand', h('span.mm-logo', { 'aria-hidden': 'true' }),
                h('div', h('h1', { text: t('app_title') }), h('p.mm-sub', { text: t('app_sub') }))),
            right);
    }

    function render() {
        if (!root) {
            return;
        }
        document.documentElement.lang = lang;
        document.title = (S.view === 'patient' && S.patient && S.patient.record.patient ?
            S.patient.record.patient.name + ' — ' : '') + t('app_title');
        var scrollY = window.scrollY;
        /* what the reader is typing survives a re-render (e.g. results of an earlier search) */
        var prevInput = root.querySelector('[data-testid=search-input]');
        var typed = prevInput && prevInput.value !== S.query ? prevInput.value : null;
        var typing = prevInput && prevInput === document.activeElement;
        clear(root);
        root.appendChild(topbar());
        if (S.user) {
            append(root, h('div.mm-banners', { testid: 'banners' }, banners(genById(S.gen))));
        }
        if (S.view === 'login' || !S.user) {
            root.appendChild(viewLogin());
        } else if (S.view === 'patient') {
            root.appendChild(viewPatient());
            window.scrollTo(0, scrollY);
        } else if (S.view === 'wards') {
            root.appendChild(viewWards());
        } else {
            root.appendChild(viewSearch());
            var input = root.querySelector('[data-testid=search-input]');
            if (input && typed !== null) {
                input.value = typed;
            }
            if (input && typing) {
                input.focus();
            }
        }
    }

    /* ---------- print mode (mamori print) ---------- */

    function renderPrint() {
        var data = S.print;
        document.documentElement.lang = lang;
        var g = data.generation || null;
        if (data.title) {
            document.title = data.title;
        }
        clear(root);
        root.classList.add('mm-print-doc');
        root.appendChild(h('div.mm-print-tools.mm-no-print',
            h('button.mm-btn.mm-btn-primary', {
                type: 'button', testid: 'print-button',
                on: {
                    click: function () {
                        window.print();
                    }
                }
            }, t('print')), langSwitch()));
        var pts = arr(data.patients);
        var head = h('header.mm-print-title', { testid: 'print-title' },
            h('h1', { text: str(data.title) || t('print_title') }),
            h('p',
                data.generated_at ? h('span', { text: t('print_generated', fmtDateTime(data.generated_at)) }) : null,
                g ? h('span', { text: t('print_as_of', genLabel(g)) }) : null,
                h('span', { text: t('print_patients', pts.length) })));
        root.appendChild(head);
        append(root, banners(g));
        pts.forEach(function (p, i) {
            var rec = p.record || {};
            printFiles = p.files && typeof p.files === 'object' ? p.files : null;
            printRecovery = p.recovery && typeof p.recovery === 'object' ?
                { help: p.recovery.help || {}, searched: p.recovery.searched || 0 } : null;
            var sec = h('article.mm-print-patient', { testid: 'print-patient', 'data-pid': rec.patient ? rec.patient.id : '' });
            if (i > 0) {
                sec.classList.add('mm-page-break');
            }
            var body = h('div.mm-frame-content');
            body.appendChild(patientHeader(rec));
            medsShown = medsOf(p);
            body.appendChild(secCurrentMeds(rec, medsShown, g, true));
            TABS.forEach(function (name) {
                body.appendChild(h('section.mm-panel.mm-print-section', { testid: 'panel-' + name },
                    h('h2.mm-panel-title', { text: t('tab_' + name) }), section(name, rec, p.labs, true)));
            });
            sec.appendChild(frame(rec, g, body));
            root.appendChild(sec);
        });
        printFiles = null;
        printRecovery = null;
        medsShown = null;
    }

    /* ---------- start ---------- */

    function start() {
        root = document.getElementById('mm-app');
        if (!root) {
            root = h('div.mm-app', { id: 'mm-app', testid: 'app' });
            document.body.appendChild(root);
        }
        document.addEventListener('keydown', function (ev) {
            if (ev.key === 'Escape' && overlay) {
                ev.preventDefault();
                closeOverlay();
            }
        });
        var pd = document.getElementById('mm-print-data');
        if (pd) {
            try {
                S.print = JSON.parse(pd.textContent || '{}');
            } catch (e) {
                S.print = { title: 'mamori', patients: [] };
                window.console.error('mm-print-data is not JSON', e);
            }
            document.body.classList.add('mm-printmode');
            renderPrint();
            return;
        }
        window.addEventListener('beforeprint', function () {
            var els = root.querySelectorAll('.mm-printed-at');
            for (var i = 0; i < els.length; i++) {
                els[i].textContent = t('printed_at', nowText());
            }
            /* Ctrl+P: the document texts start loading (the print button waits for them) */
            if (S.view === 'patient' && S.patient) {
                preparePrint();
            }
        });
        ['keydown', 'mousedown', 'wheel', 'touchstart'].forEach(function (ev) {
            document.addEventListener(ev, onActivity, { passive: true });
        });
        window.addEventListener('popstate', onPopState);
        render();
        api('GET', '/api/session').then(function (j) {
            S.user = j.user || '?';
            S.idle = Number(j.idle_timeout_s) || 0;
            S.view = 'search';
            return loadGenerations().then(function () {
                /* a reload keeps a ward screen; a patient's handle died with the old page */
                var w = /^#\/wards(?:\/(.+))?$/.exec(window.location.hash);
                if (w) {
                    showWards(w[1] ? decodeURIComponent(w[1]) : null, true);
                    return;
                }
                pushRoute(true);
                render();
            });
        }, function (e) {
            if (e instanceof ApiError && e.status === 401) {
                return; /* not logged in: the login form is shown already */
            }
            S.notice = null;
            render();
            var err = root.querySelector('[data-testid=login-error]');
            if (err) {
                err.textContent = errText(e);
                err.hidden = false;
            }
        });
        armIdle();
    }

    if (document.readyState === 'loading') {
        document.addEventListener('DOMContentLoaded', start);
    } else {
        start();
    }
}());
