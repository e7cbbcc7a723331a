    /* app.js, part 50-documents.js: examinations, documents (CDA shown as text), images. The parts
     * are one function, concatenated in name order at build time (src/lib/viewer/meson.build);
     * they share its scope. */

    /* ---------- exams, documents, images ---------- */

    function secExams(rec) {
        var list = arr(rec.exams).slice().sort(function (a, b) {
            return cmpDesc(str(a.performed_at), str(b.performed_at));
        });
        if (!list.length) {
            return none();
        }
        var box = h('div.mm-exams');
        list.forEach(function (e) {
            box.appendChild(h('article.mm-exam', { testid: 'exam', 'data-order': e.order_no },
                h('header',
                    h('strong', { text: fmtDateTime(e.performed_at) }), ' ',
                    h('span.mm-tag', { text: tcode('exam_kind_', e.kind) }), ' ',
                    h('span.mm-strong', { text: str(e.name) })),
                e.findings ? h('p.mm-findings', { text: e.findings }) : h('p.mm-muted', { text: t('no_findings') })));
        });
        return box;
    }

    function fileUrl(path) {
        return '/api/file?id=' + encodeURIComponent(S.pid) + (S.gen ? '&gen=' + encodeURIComponent(S.gen) : '') +
            '&path=' + encodeURIComponent(path);
    }

    function secDocuments(rec, print) {
        var list = arr(rec.documents).slice().sort(function (a, b) {
            return cmpDesc(str(a.date) + str(a.folder), str(b.date) + str(b.folder));
        });
        if (!list.length) {
            return none();
        }
        var box = h('div.mm-docs');
        var viewer = h('div.mm-doc-viewer', { testid: 'doc-viewer', hidden: true });
        var rows = list.map(function (d) {
            var files = arr(d.files);
            var actions = h('td.mm-no-print');
            if (!print) {
                files.forEach(function (f) {
                    var path = d.folder + '/' + f;
                    actions.appendChild(h('button.mm-btn.mm-btn-small', {
                        type: 'button', testid: 'doc-open', 'data-path': path,
                        'aria-label': t('open') + ': ' + str(d.title) + ' ' + f,
                        on: {
                            click: function () {
                                showDoc(viewer, d, f, path);
                            }
                        }
                    }, t('open') + (files.length > 1 ? ' ' + f : '')));
                });
            }
            return h('tr', { testid: 'doc-row', 'data-date': d.date, 'data-code': d.code },
                h('td.mm-mono', { text: fmtDate(d.date) }),
                h('td.mm-strong', { 'data-col': 'title', text: str(d.title) }),
                h('td.mm-mono', { text: str(d.code) }),
                h('td.mm-files', { text: files.join(', ') }),
                actions);
        });
        box.appendChild(table('mm-docs-table', 'doc-table',
            [t('col_date'), t('col_title'), t('col_code'), t('col_files'), ''], rows));
        box.appendChild(viewer);
        if (!print) {
            box.appendChild(h('div.mm-print-only.mm-doc-texts', { testid: 'doc-texts' }));
        } else if (printFiles) {
            /* mamori print: the texts came inside the file */
            var texts = h('div.mm-doc-texts', { testid: 'doc-texts' }, h('h3', { text: t('doc_texts') }));
            list.forEach(function (d) {
                arr(d.files).filter(isCdaFile).forEach(function (f) {
                    var xml = printFiles[d.folder + '/' + f];
                    if (typeof xml !== 'string') {
                        return;
                    }
                    var v = cdaView(xml);
                    texts.appendChild(h('article.mm-doc-text', { testid: 'doc-text', 'data-path': d.folder + '/' + f },
                        h('h4', { text: fmtDate(d.date) + ' ' + str(d.title) }),
                        v.el || h('pre.mm-cda-raw', { text: xml })));
                });
            });
            if (texts.childNodes.length > 1) {
                box.appendChild(texts);
            }
        }
        return box;
    }

    function isCdaFile(f) {
        return /\.xml$/i.test(f);
    }

    /* The text of a stored file (a CDA document) through the API. */
    function fetchText(path) {
        return window.fetch(fileUrl(path), { credentials: 'same-origin', cache: 'no-store' }).then(function (res) {
            if (res.status === 401) {
                sessionGone('session_expired');
                throw new ApiError(401, {});
            }
            if (!res.ok) {
                throw new ApiError(res.status, {});
            }
            return res.text();
        });
    }

    /*
     * A CDA document as text only. The XML is read by the small parser below into plain
     * objects (never DOM nodes: the browser's XML parser would make live HTML elements of
     * anything in the XHTML namespace, e.g. an <img onerror=...>, even in a detached
     * document); only their text is copied into elements this file creates. No XSLT, no
     * processing instruction obeyed, nothing fetched; a DOCTYPE (and so any entity
     * declaration) is refused: the document is then shown as its source. Element names are
     * matched by local name, so the HL7 namespace (or none) does not matter.
     */
    var CDA_NEST_MAX = 40;
    var XML_DEPTH_MAX = 256;

    /* Well-formed XML → {localName, attrs, childNodes: [element | {text}]} or throws. */
    function parseXml(src) {
        var root = { localName: '#root', attrs: {}, childNodes: [] };
        var stack = [root];
        var i = 0;
        var n = src.length;
        var fail = function (why) {
            throw new Error('xml: ' + why);
        };
        var ents = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };
        var decode = function (x) {
            return x.replace(/&(#x[0-9a-fA-F]{1,6}|#[0-9]{1,7}|lt|gt|amp|quot|apos);|&/g, function (m, e) {
                if (!e) {
                    fail('entity');
                }
                if (e.charAt(0) !== '#') {
                    return ents[e];
                }
                var c = e.charAt(1) === 'x' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
                if (!(c > 0 && c <= 0x10FFFF) || (c >= 0xD800 && c <= 0xDFFF)) {
                    fail('character reference');
                }
                return String.fromCodePoint(c);
            });
        };
        var addText = function (x) {
            var top = stack[stack.length - 1];
            if (top === root) {
                if (x.trim()) {
                    fail('text outside the root');
                }
                return;
            }
            top.childNodes.push({ text: x });
        };
        var attrRe = /\s+([A-Za-z_][\w.:-]*)\s*=\s*(?:"([^"<]*)"|'([^'<]*)')/y;
        var endRe = /\s*(\/?)>/y;
        var nameRe = /<([A-Za-z_][\w.:-]*)/y;
        while (i < n) {
            var lt = src.indexOf('<', i);
            if (lt < 0) {
                lt = n;
            }
            if (lt > i) {
                addText(decode(src.slice(i, lt)));
            }
            if (lt >= n) {
                break;
            }
            var e;
            if (src.startsWith('<!--', lt)) {
                e = src.indexOf('-->', lt + 4);
                i = e < 0 ? fail('comment') : e + 3;
            } else if (src.startsWith('<![CDATA[', lt)) {
                e = src.indexOf(']]>', lt + 9);
                if (e < 0) {
                    fail('CDATA');
                }
                addText(src.slice(lt + 9, e));
                i = e + 3;
            } else if (src.startsWith('<?', lt)) {
                e = src.indexOf('?>', lt + 2); /* the XML declaration, a stylesheet PI: ignored */
                i = e < 0 ? fail('PI') : e + 2;
            } else if (src.startsWith('<!', lt)) {
                fail('declaration'); /* DOCTYPE, ENTITY: never */
            } else if (src.charAt(lt + 1) === '/') {
                e = src.indexOf('>', lt);
                var top = stack.pop();
                if (e < 0 || stack.length === 0 || top.qname !== src.slice(lt + 2, e).trim()) {
                    fail('end tag');
                }
                i = e + 1;
            } else {
                nameRe.lastIndex = lt;
                var m = nameRe.exec(src);
                if (!m) {
                    fail('tag');
                }
                var q = m[1];
                var el = { qname: q, localName: q.slice(q.indexOf(':') + 1), attrs: {}, childNodes: [] };
                var at = nameRe.lastIndex;
                var a;
                attrRe.lastIndex = at;
                while ((a = attrRe.exec(src))) {
                    var an = a[1].slice(a[1].indexOf(':') + 1);
                    el.attrs[an] = decode(a[2] !== undefined ? a[2] : a[3]);
                    at = attrRe.lastIndex;
                }
                endRe.lastIndex = at;
                var end = endRe.exec(src);
                if (!end) {
                    fail('tag end');
                }
                var parent = stack[stack.length - 1];
                if (parent === root && root.childNodes.length) {
                    fail('two roots');
                }
                parent.childNodes.push(el);
                if (!end[1]) {
                    stack.push(el);
                    if (stack.length > XML_DEPTH_MAX) {
                        fail('too deep');
                    }
                }
                i = endRe.lastIndex;
            }
        }
        if (stack.length !== 1 || root.childNodes.length !== 1) {
            fail('unclosed');
        }
        return root.childNodes[0];
    }

    function cdaView(xml) {
        var out = h('div.mm-cda', { testid: 'cda-text', lang: 'ja' });
        if (/<!DOCTYPE|<!ENTITY/i.test(xml)) {
            return { el: null, why: t('cda_raw_only') };
        }
        var d;
        try {
            d = parseXml(xml);
        } catch (e) {
            return { el: null, why: t('cda_bad') };
        }
        var kids = function (el, name) {
            return el.childNodes.filter(function (c) {
                return c.localName && (!name || c.localName === name);
            });
        };
        var one = function (el, name) {
            return kids(el, name)[0] || null;
        };
        var textOf = function (el) {
            return el.text !== undefined ? el.text : el.childNodes.map(textOf).join('');
        };
        var txt = function (el) {
            return el ? norm(textOf(el)) : '';
        };
        var find = function (el, name) { /* the first descendant named so */
            var k = kids(el);
            for (var j = 0; j < k.length; j++) {
                var f = k[j].localName === name ? k[j] : find(k[j], name);
                if (f) {
                    return f;
                }
            }
            return null;
        };
        var title = txt(one(d, 'title'));
        if (title) {
            out.appendChild(h('h3.mm-cda-title', { text: title }));
        }
        var eff = one(d, 'effectiveTime');
        var author = one(d, 'author');
        var who = author ? txt(find(author, 'name')) : '';
        if ((eff && eff.attrs.value) || who) {
            out.appendChild(h('p.mm-cda-meta',
                eff && eff.attrs.value ? fmtDateTime(eff.attrs.value) : null,
                who ? ' ' + t('cda_author') + ': ' + who : null));
        }
        /* the narrative block of a section: paragraphs, lists, tables, line breaks */
        var narrative = function (el, depth) {
            var frag = [];
            if (depth > CDA_NEST_MAX) {
                return [txt(el)];
            }
            el.childNodes.forEach(function (n) {
                if (n.text !== undefined) {
                    if (n.text.trim()) {
                        frag.push(n.text);
                    }
                    return;
                }
                switch (n.localName) {
                case 'paragraph':
                    frag.push(h('p.mm-cda-p', narrative(n, depth + 1)));
                    break;
                case 'br':
                    frag.push(h('br'));
                    break;
                case 'list':
                    frag.push(h(n.attrs.listType === 'ordered' ? 'ol.mm-cda-list' : 'ul.mm-cda-list',
                        kids(n, 'item').map(function (it) {
                            return h('li', narrative(it, depth + 1));
                        })));
                    break;
                case 'table':
                    frag.push(cdaTable(n, depth));
                    break;
                case 'caption':
                    frag.push(h('p.mm-cda-caption', { text: txt(n) }));
                    break;
                case 'renderMultiMedia':
                case 'footnoteRef':
                    break; /* references to things this viewer does not fetch */
                default: /* content, sub, sup, footnote, linkHtml: their text */
                    frag.push(h('span', narrative(n, depth + 1)));
                }
            });
            return frag;
        };
        var cdaTable = function (tb, depth) {
            var rows = [];
            var walk = function (el) {
                kids(el).forEach(function (c) {
                    if (c.localName === 'tr') {
                        rows.push(h('tr', kids(c).filter(function (x) {
                            return x.localName === 'th' || x.localName === 'td';
                        }).map(function (x) {
                            return h(x.localName, narrative(x, depth + 2));
                        })));
                    } else if (c.localName === 'thead' || c.localName === 'tbody' || c.localName === 'tfoot') {
                        walk(c);
                    }
                });
            };
            walk(tb);
            var cap = one(tb, 'caption');
            return h('table.mm-table.mm-cda-table', cap ? h('caption', { text: txt(cap) }) : null, h('tbody', rows));
        };
        var sectionOf = function (sec, depth) {
            var box = h('section.mm-cda-section', { testid: 'cda-section' });
            var st = txt(one(sec, 'title'));
            if (st) {
                box.appendChild(h(depth > 0 ? 'h5.mm-cda-section-title' : 'h4.mm-cda-section-title', {
                    testid: 'cda-section-title', text: st
                }));
            }
            var body = one(sec, 'text');
            if (body) {
                box.appendChild(h('div.mm-cda-body', narrative(body, 0)));
            }
            if (depth < CDA_NEST_MAX) {
                kids(sec, 'component').forEach(function (c) {
                    var sub = one(c, 'section');
                    if (sub) {
                        box.appendChild(sectionOf(sub, depth + 1));
                    }
                });
            }
            return box;
        };
        var body = one(one(d, 'component') || d, 'structuredBody');
        var n = 0;
        if (body) {
            kids(body, 'component').forEach(function (c) {
                var sec = one(c, 'section');
                if (sec) {
                    out.appendChild(sectionOf(sec, 0));
                    n++;
                }
            });
        }
        var nb = body ? null : one(one(d, 'component') || d, 'nonXMLBody');
        if (!n && nb) {
            out.appendChild(h('pre.mm-cda-plain', { text: txt(one(nb, 'text')) }));
            n++;
        }
        if (!n) {
            return { el: null, why: t('cda_bad') };
        }
        return { el: out, why: null };
    }

    function norm(s) {
        return String(s || '').replace(/\s+/g, ' ').trim();
    }

    /* The CDA document's text, with its XML source one click away. */
    function cdaBox(xml) {
        var v = cdaView(xml);
        var raw = h('pre.mm-cda-raw', { testid: 'cda-raw', text: xml, hidden: !!v.el });
        if (!v.el) {
            return h('div.mm-cda-wrap', h('p.mm-notice', { testid: 'cda-notice', text: v.why }), raw);
        }
        var btn = h('button.mm-btn.mm-btn-small.mm-no-print', {
            type: 'button', testid: 'cda-toggle', 'aria-pressed': 'false',
            on: {
                click: function () {
                    var showRaw = raw.hidden;
                    raw.hidden = !showRaw;
                    v.el.hidden = showRaw;
                    btn.textContent = showRaw ? t('cda_show_text') : t('cda_show_xml');
                    btn.setAttribute('aria-pressed', showRaw ? 'true' : 'false');
                }
            }
        }, t('cda_show_xml'));
        return h('div.mm-cda-wrap', btn, v.el, raw);
    }

    /*
     * Before printing: the text of every CDA document under its row on paper, and the image
     * thumbnails loaded (they load lazily on screen). Resolves when ready, even if some failed.
     */
    function preparePrint() {
        if (!S.patient) {
            return Promise.resolve();
        }
        var rec = S.patient.record;
        var pid = S.pid;
        var jobs = [];
        var texts = root.querySelector('[data-testid=doc-texts]');
        if (texts && !texts.getAttribute('data-ready')) {
            clear(texts);
            texts.appendChild(h('h3', { text: t('doc_texts') }));
            arr(rec.documents).slice().sort(function (a, b) {
                return cmpDesc(str(a.date) + str(a.folder), str(b.date) + str(b.folder));
            }).forEach(function (d) {
                arr(d.files).filter(isCdaFile).forEach(function (f) {
                    var slot = h('article.mm-doc-text', { testid: 'doc-text', 'data-path': d.folder + '/' + f },
                        h('h4', { text: fmtDate(d.date) + ' ' + str(d.title) }));
                    texts.appendChild(slot);
                    jobs.push(fetchText(d.folder + '/' + f).then(function (xml) {
                        var v = cdaView(xml);
                        slot.appendChild(v.el || h('pre.mm-cda-raw', { text: xml }));
                    }, function (e) {
                        slot.appendChild(h('p.mm-error', { text: t('cda_failed', errText(e)) }));
                    }));
                });
            });
        }
        var imgs = root.querySelectorAll('.mm-thumb img, img.mm-print-thumb');
        Array.prototype.forEach.call(imgs, function (im) {
            im.loading = 'eager';
            if (!im.complete) {
                jobs.push(new Promise(function (resolve) {
                    im.addEventListener('load', resolve);
                    im.addEventListener('error', resolve);
                }));
            }
        });
        return Promise.all(jobs).then(function () {
            if (texts && S.pid === pid) {
                texts.setAttribute('data-ready', '1');
            }
            root.setAttribute('data-print-ready', '1');
        });
    }

    function showDoc(viewer, d, f, path) {
        clear(viewer);
        var url = fileUrl(path);
        viewer.hidden = false;
        viewer.appendChild(h('div.mm-doc-bar',
            h('strong', { text: fmtDate(d.date) + ' ' + str(d.title) + ' — ' + f }),
            h('a.mm-btn.mm-btn-small', { href: url, target: '_blank', rel: 'noopener', text: t('open_new') }),
            h('button.mm-btn.mm-btn-small', {
                type: 'button', testid: 'doc-close',
                on: {
                    click: function () {
                        clear(viewer);
                        viewer.hidden = true;
                    }
                }
            }, '× ' + t('doc_close'))));
        if (isCdaFile(f)) {
            var slot = h('div.mm-doc-cda', { testid: 'doc-cda' }, h('p.mm-loading', { text: t('cda_loading') }));
            viewer.appendChild(slot);
            fetchText(path).then(function (xml) {
                clear(slot);
                slot.appendChild(cdaBox(xml));
            }, function (e) {
                clear(slot);
                slot.appendChild(h('p.mm-error', { role: 'alert', text: t('cda_failed', errText(e)) }));
            });
        } else if (isImageFile(f)) {
            viewer.appendChild(h('img.mm-doc-img', { src: url, alt: str(d.title), testid: 'doc-img' }));
        } else {
            viewer.appendChild(h('iframe.mm-doc-frame', {
                src: url, title: t('doc_viewer') + ': ' + str(d.title), testid: 'doc-frame',
                referrerpolicy: 'no-referrer'
            }));
        }
        viewer.scrollIntoView({ block: 'nearest' });
    }

    function isImageFile(f) {
        return /\.(jpe?g|png|gif|webp|bmp)$/i.test(f);
    }

    function secImages(rec, print) {
        var list = arr(rec.images).slice().sort(function (a, b) {
            return cmpDesc(str(a.date) + str(a.folder), str(b.date) + str(b.folder));
        });
        if (!list.length) {
            return none();
        }
        var box = h('div.mm-images');
        list.forEach(function (im) {
            var files = arr(im.files);
            var fig = h('section.mm-image-group', { testid: 'image-group', 'data-date': im.date, 'data-code': im.code },
                h('h3', { text: fmtDate(im.date) + ' ' + str(im.title) }));
            if (print) {
                fig.appendChild(h('p.mm-muted', { text: t('print_files_note', files.join(', ')) }));
                var pics = files.filter(function (f) {
                    var u = printFiles ? printFiles[im.folder + '/' + f] : null;
                    return typeof u === 'string' && /^data:image\/jpeg;base64,[A-Za-z0-9+\/=]+$/.test(u);
                });
                if (pics.length) {
                    fig.appendChild(h('div.mm-print-thumbs', pics.map(function (f) {
                        return h('img.mm-print-thumb', {
                            src: printFiles[im.folder + '/' + f], alt: fmtDate(im.date) + ' ' + str(im.title)
                        });
                    })));
                }
            } else {
                /* on paper: small pictures, not the buttons */
                fig.appendChild(h('div.mm-print-only.mm-print-thumbs', files.filter(isImageFile).map(function (f) {
                    return h('img.mm-print-thumb', {
                        src: fileUrl(im.folder + '/' + f), alt: fmtDate(im.date) + ' ' + str(im.title), loading: 'lazy'
                    });
                })));
                var grid = h('div.mm-thumbs');
                files.forEach(function (f) {
                    var path = im.folder + '/' + f;
                    var url = fileUrl(path);
                    if (!isImageFile(f)) {
                        grid.appendChild(h('a.mm-btn.mm-btn-small', { href: url, target: '_blank', rel: 'noopener', text: f }));
                        return;
                    }
                    grid.appendChild(h('button.mm-thumb', {
                        type: 'button', testid: 'image-thumb', 'data-path': path,
                        'aria-label': t('image_open', fmtDate(im.date), str(im.title)),
                        on: {
                            click: function (ev) {
                                openOverlay(url, fmtDate(im.date) + ' ' + str(im.title) + ' — ' + f, ev.currentTarget);
                            }
                        }
                    }, h('img', { src: url, alt: fmtDate(im.date) + ' ' + str(im.title), loading: 'lazy' }),
                    h('span.mm-thumb-cap', { text: f })));
                });
                fig.appendChild(grid);
            }
            box.appendChild(fig);
        });
        return box;
    }

    var overlay = null;
    var overlayReturn = null;

    function openOverlay(url, caption, from) {
        closeOverlay();
        overlayReturn = from || null;
        var close = h('button.mm-btn.mm-overlay-close', {
            type: 'button', testid: 'overlay-close', 'aria-label': t('overlay_close'),
            on: {
                click: closeOverlay
            }
        }, '×');
        overlay = h('div.mm-overlay', {
            role: 'dialog', 'aria-modal': 'true', 'aria-label': caption, testid: 'image-overlay',
            on: {
                click: function (ev) {
                    if (ev.target === overlay) {
                        closeOverlay();
                    }
                },
                keydown: function (ev) {
                    if (ev.key === 'Tab') {
                        ev.preventDefault();
                        close.focus();
                    }
                }
            }
        },
            h('div.mm-overlay-bar', h('span', { text: caption }), close),
            h('img.mm-overlay-img', { src: url, alt: caption, testid: 'overlay-image' }));
        document.body.appendChild(overlay);
        close.focus();
    }

    function closeOverlay() {
        if (!overlay) {
            return;
        }
        overlay.parentNode.removeChild(overlay);
        overlay = null;
        if (overlayReturn && overlayReturn.isConnected) {
            overlayReturn.focus();
        }
        overlayReturn = null;
    }

