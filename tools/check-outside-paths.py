#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
#
# Lint: no test, build file or script refers to a path outside the repository, so that a clone
# placed in an empty folder builds and passes its tests with nothing beside it. Checked files:
# every meson.build, meson_options.txt, Makefile, .ci/*, tools/**, tests/**, bench/** and fuzz/**
# (tracked files when the root is a git checkout, else every file), except Markdown prose and
# the sample data (tests/data/ssmix2-samples/**, fuzz/corpus/**). Found, with file:line:
#   - a path that climbs above the repository root, resolved from where it is anchored: the
#     root (MM_SOURCE_ROOT, meson.project_source_root(), a Makefile's own relative paths), a C
#     macro defined from an anchor (#define SAMPLES MM_SOURCE_ROOT "/tests/data/..."), the CLI
#     cases' $SAMPLES, the file's folder ($(dirname "$0"), meson.current_source_dir(),
#     __dirname, a variable set from __file__ or import.meta.url, and any other relative path:
#     meson's own strings are relative to the file, and a relative path in a script or test is
#     judged from the file too);
#   - any `..` after the build root (MM_BUILD_ROOT, meson.project_build_root()): the build
#     folder may be anywhere;
#   - the folder `shared` beside the checkout (on developers' machines) named anywhere;
#   - absolute paths into this machine's work folders (/work, and the folder holding the
#     checkout).
# A line that holds a climbing string on purpose (a hostile input, not a path the test reads)
# says so with the marker `outside-path-ok` and a reason on the same line.
#
# usage: check-outside-paths.py ROOT    exit 0 when clean, 1 with one line per problem
import os
import posixpath
import re
import subprocess
import sys

MARKER = 'outside-path-ok'

# anchors whose value is the repository root, the build root, or the file's own folder
ROOT_ANCHORS = [
    r'\bMM_SOURCE_ROOT\b',
    r'\bmeson\.(?:project_|global_)?source_root\(\)',
    r'\$\{?MESON_SOURCE_ROOT\}?',
    r'\$\(git rev-parse --show-toplevel\)',
    r'\$\(CURDIR\)',
]
BUILD_ANCHORS = [
    r'\bMM_BUILD_ROOT\b',
    r'\bmeson\.(?:project_|global_)?build_root\(\)',
    r'\bmeson\.current_build_dir\(\)',
    r'\$\{?MESON_BUILD_ROOT\}?',
]
HERE_ANCHORS = [
    r'\$\(\s*dirname\s+(?:--\s+)?"?\$(?:0|\{0\}|\{?BASH_SOURCE(?:\[0\])?\}?)"?\s*\)',
    r'\$\{0%/\*\}',
    r'\bmeson\.current_source_dir\(\)',
    r'\b__dirname\b',
]
# a variable set from the file's own location (Python, JavaScript, shell)
HERE_ASSIGN = re.compile(
    r'^\s*(?:const|let|var|export|local|readonly)?\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(?:.*\b__file__\b'
    r'|.*import\.meta\.url|.*\$\(\s*cd\s+"?\$\(\s*dirname\s+(?:--\s+)?"?\$(?:0|\{?BASH_SOURCE))')

# where the CLI cases' $SAMPLES points (tests/cli/meson.build)
SAMPLES_DIR = 'tests/data/ssmix2-samples'
DEFINE = re.compile(r'^\s*#\s*define\s+([A-Za-z_][A-Za-z0-9_]*)\s+(.*)$')

STOP = r'''\s'"`;,()|<>{}'''
GENERIC = re.compile(r'''(?:^|(?<=[\s'"`=(,:]))(\.\.(?:/[^%s]*)?)(?=[%s]|$)''' % (STOP, STOP))
SHARED = re.compile(r'''\.\.(?:/|['"]?\s*[/,+]\s*['"])shared\b''')
PIECE_STR = re.compile(r'''\s*(?:[/,+]\s*)?(?:"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)')''')
PIECE_BARE = re.compile(r'''(/[A-Za-z0-9_.@%+=:~-][A-Za-z0-9_.@%+=:~/-]*|/)''')


def in_scope(rel):
    """Whether the repository-relative path @rel is a file this check reads."""
    if rel.endswith('.md'):
        return False
    if rel.startswith(('tests/data/ssmix2-samples/', 'fuzz/corpus/')):
        return False
    if '/node_modules/' in '/' + rel:
        return False
    base = posixpath.basename(rel)
    if base in ('meson.build', 'meson_options.txt', 'meson.options') or rel == 'Makefile':
        return True
    return rel.startswith(('.ci/', 'tools/', 'tests/', 'bench/', 'fuzz/'))


def list_files(root):
    """Repository-relative paths of the candidate files: tracked ones in a checkout."""
    try:
        top = subprocess.run(['git', '-C', root, 'rev-parse', '--show-toplevel'], check=True,
                             capture_output=True, text=True).stdout.strip()
        if os.path.realpath(top) == os.path.realpath(root):
            out = subprocess.run(['git', '-C', root, 'ls-files', '-z'], check=True,
                                 capture_output=True).stdout
            return sorted(p for p in out.decode('utf-8', 'surrogateescape').split('\0') if p)
    except (OSError, subprocess.CalledProcessError):
        pass
    files = []
    for dirpath, dirs, names in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in ('.git', 'node_modules')
                         and not d.startswith('build')
                         and not os.path.isdir(os.path.join(dirpath, d, 'meson-private')))
        for n in names:
            files.append(os.path.relpath(os.path.join(dirpath, n), root).replace(os.sep, '/'))
    return sorted(files)


def file_anchors(rel, text):
    """Anchors of the file @rel: (pattern, base, label), base a repository-relative folder or
    None for the build root. The fixed ones, variables set from the file's location, the CLI
    cases' $SAMPLES, and C macros defined from another anchor (#define SAMPLES MM_SOURCE_ROOT
    "/tests/data/...", then #define X SAMPLES "/..." from there)."""
    here = posixpath.dirname(rel)
    out = [(a, '', 'repository root') for a in ROOT_ANCHORS]
    out += [(a, None, 'build root') for a in BUILD_ANCHORS]
    out += [(a, here, "file's folder") for a in HERE_ANCHORS]
    names = set()
    for line in text.splitlines():
        m = HERE_ASSIGN.match(line)
        if m:
            names.add(m.group(1))
    for n in sorted(names):
        out.append((r'(?<![\w.$])%s\b' % re.escape(n), here, "file's folder"))
        out.append((r'\$\{?%s\}?' % re.escape(n), here, "file's folder"))
    if rel.startswith('tests/cli/'):
        # run-case.sh gives the cases $SAMPLES (tests/cli/meson.build)
        out.append((r'\$\{?SAMPLES\}?', SAMPLES_DIR, '$SAMPLES'))
    for line in text.splitlines():
        m = DEFINE.match(line)
        if not m:
            continue
        for pattern, base, _ in list(out):
            a = re.match(r'\s*(?:%s)' % pattern, m.group(2))
            if not a or base is None:
                continue
            path, _ = follow(m.group(2), a.end())
            target = posixpath.normpath(posixpath.join(base, path)) if (base or path) else ''
            if target in ('.', ''):
                target = ''
            if not target.startswith('..'):
                out.append((r'\b%s\b' % re.escape(m.group(1)), target,
                            "macro %s (%s)" % (m.group(1), target or '.')))
            break
    return out


def follow(line, pos):
    """The path pieces written after an anchor ending at @pos: quoted strings joined by meson's
    `/`, by `,` (join_paths, os.path.join, path.resolve), by `+`, by C's adjacency, and a bare
    `/...` tail (shell). @return (path, end)"""
    pieces = []
    while True:
        m = PIECE_STR.match(line, pos)
        if m:
            pieces.append(m.group(1) if m.group(1) is not None else m.group(2))
            pos = m.end()
            continue
        m = PIECE_BARE.match(line, pos)
        if m:
            pieces.append(m.group(1))
            pos = m.end()
            continue
        break
    return '/'.join(p.strip('/') for p in pieces if p.strip('/')), pos


def climbs(base, path):
    """Whether @path taken from the repository-relative folder @base leaves the repository."""
    joined = posixpath.normpath(posixpath.join(base, path)) if base else posixpath.normpath(path)
    return joined == '..' or joined.startswith('../')


def check_line(rel, line, anchors, work_dirs):
    """Problems of one line of the file @rel: a list of reasons."""
    found = []
    here = posixpath.dirname(rel)
    spans = []
    for pattern, base, label in anchors:
        for m in re.finditer(pattern, line):
            if any(a <= m.start() < b for a, b in spans):
                continue  # inside a longer anchor found before (a macro's own definition)
            path, end = follow(line, m.end())
            spans.append((m.start(), end))
            if not path:
                continue
            if base is None:
                if path == '..' or path.startswith('../') or '/../' in '/' + path:
                    found.append("'..' after the build root (the build folder may be anywhere)")
            elif climbs(base, path):
                found.append("'%s' from the %s climbs above the repository root" % (path, label))
    rest = list(line)
    for a, b in spans:
        for i in range(a, min(b, len(rest))):
            rest[i] = ' '
    rest = ''.join(rest)
    base = '' if rel == 'Makefile' else here
    for m in GENERIC.finditer(rest):
        if climbs(base, m.group(1)):
            found.append("'%s' climbs above the repository root (from %s)"
                         % (m.group(1), 'the root' if rel == 'Makefile' else "the file's folder"))
    if SHARED.search(line) and not any('shared' in f for f in found):
        found.append("refers to the folder 'shared' beside the checkout")
    for w in work_dirs:
        if w in line:
            found.append("absolute path into '%s'" % w.rstrip('/'))
    return list(dict.fromkeys(found))


def main():
    if len(sys.argv) != 2:
        print('usage: check-outside-paths.py ROOT', file=sys.stderr)
        return 2
    root = sys.argv[1]
    if not os.path.isdir(root):
        print("check-outside-paths: '%s' is not a folder" % root, file=sys.stderr)
        return 2
    work_dirs = ['/wo' 'rk/']  # split so that this line is not a finding of its own
    parent = os.path.dirname(os.path.realpath(root))
    if parent not in ('/', '/tmp', '/var/tmp') and not parent.startswith(('/tmp/', '/var/tmp/')):
        work_dirs.append(parent.rstrip('/') + '/')
    nfiles = nproblems = 0
    for rel in list_files(root):
        if not in_scope(rel):
            continue
        path = os.path.join(root, rel)
        if not os.path.isfile(path) or os.path.islink(path):
            continue
        with open(path, 'rb') as f:
            data = f.read()
        if b'\0' in data:
            continue  # binary
        text = data.decode('utf-8', 'replace')
        nfiles += 1
        anchors = file_anchors(rel, text)
        for no, line in enumerate(text.splitlines(), 1):
            if MARKER in line:
                continue
            for reason in check_line(rel, line, anchors, work_dirs):
                print('%s:%d: %s: %s' % (rel, no, reason, line.strip()[:160]))
                nproblems += 1
    print('check-outside-paths: %d files checked, %d problems' % (nfiles, nproblems))
    return 1 if nproblems else 0


if __name__ == '__main__':
    sys.exit(main())
