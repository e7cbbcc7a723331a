#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
#
# A test of tools/check-outside-paths.py itself (TAP): temporary trees, each holding one file
# that points outside the repository in one of the ways the check knows, must each fail with
# that file and line named; a tree holding the legitimate relative paths the repository uses
# (a script's own folder and up to the root, meson paths to tools/, hostile inputs such as
# "../../etc", prose, sample data) must pass. The outside-pointing text is assembled at run
# time, so this file is no finding of the check when it scans the repository.
#
# usage: test_check_outside_paths.py CHECKER
import os
import subprocess
import sys
import tempfile

UP = '.' + '.'
WORK = '/' + 'wo' + 'rk'

# (file, content, line that must be named)
BAD = [
    ('tests/unit/test_x.c', '/* x */\n#define SAMPLES MM_SOURCE_ROOT "/%s/anything"\n' % UP, 2),
    ('tests/unit/test_x.c', '#define S MM_SOURCE_ROOT "/tests/%s/%s/anything"\n' % (UP, UP), 1),
    ('tests/unit/test_x.c', 'static const char *p = "%s/%s/%s/anything";\n' % (UP, UP, UP), 1),
    ('tests/unit/test_x.c', '#define OUT MM_BUILD_ROOT "/%s/anything"\n' % UP, 1),
    ('tests/unit/test_x.c', '/* data in %s/shared/ssmix2-samples */\n' % UP, 1),
    ('tests/unit/test_x.c', '#define SAMPLES MM_SOURCE_ROOT "/tests/data/ssmix2-samples"\n'
     '#define OLD SAMPLES "/%s/%s/%s/%s/anything"\n' % (UP, UP, UP, UP), 2),
    ('tests/unit/test_x.c', '#define SAMPLES MM_SOURCE_ROOT "/tests/data/ssmix2-samples"\n'
     '#define TOOL SAMPLES "/nho/sampleData"\n'
     'static const char *p = TOOL "/%s/%s/%s/%s/%s/%s/anything";\n' % ((UP,) * 6), 3),
    ('tests/cli/case/cmd', '"$MAMORI" scan --storage "$SAMPLES/%s/%s/%s/%s/anything"\n'
     % (UP, UP, UP, UP), 1),
    ('tests/meson.build', "x = 1\nd = meson.project_source_root() / '%s' / 'anything'\n" % UP, 2),
    ('tests/meson.build', "d = join_paths(meson.project_source_root(), '%s', 'anything')\n" % UP, 1),
    ('bench/meson.build', "b = files('%s/%s/anything')\n" % (UP, UP), 1),
    ('meson.build', "subdir('%s/anything')\n" % UP, 1),
    ('tests/cli/case/cmd', 'cat "$(dirname "$0")/%s/%s/%s/%s/anything"\n' % (UP, UP, UP, UP), 1),
    ('tools/x.sh', '#!/bin/sh\nhere=$(cd "$(dirname "$0")" && pwd)\n. "$here/%s/%s/anything"\n'
     % (UP, UP), 3),
    ('tools/y.sh', '#!/bin/sh\n. %s/shared/anything.sh\n' % UP, 2),
    ('Makefile', 'all:\n\tcp %s/anything .\n' % UP, 2),
    ('.ci/run', '#!/bin/sh\ncp -r %s/anything .\n' % WORK, 2),
    ('tests/browser/x.mjs', "const HERE = path.dirname(fileURLToPath(import.meta.url));\n"
     "const A = path.resolve(HERE, '%s/%s/%s/anything');\n" % (UP, UP, UP), 2),
    ('tests/http/x.py', "here = os.path.dirname(os.path.abspath(__file__))\n"
     "d = os.path.join(here, '%s', '%s', '%s', 'anything')\n" % (UP, UP, UP), 2),
    ('fuzz/meson.build', "c = meson.current_source_dir() / '%s' / '%s' / 'anything'\n" % (UP, UP), 1),
]

# the legitimate relative paths of the repository, and files out of the check's scope
CLEAN = {
    '.ci/run': '#!/bin/sh\ncd "$(dirname "$0")/%s"\nexec make test\n' % UP,
    'tests/meson.build': "test('h', find_program('%s/tools/check-headers.sh'))\n"
                         "s = meson.project_source_root() / 'tests' / 'data'\n" % UP,
    'tests/browser/v.mjs': "const HERE = path.dirname(fileURLToPath(import.meta.url));\n"
                           "const A = path.resolve(HERE, '%s/%s/src/lib/viewer/assets');\n"
                           % (UP, UP),
    'tests/cli/case/cmd': '. "$(dirname "$0")/%s/synthetic-tree.sh"\n'
                          '"$MAMORI" show %s/%s/etc --storage "$SAMPLES/x"\n'
                          'cd "$SAMPLES/nho/sampleData/%s/%s" || exit 9\n' % (UP, UP, UP, UP, UP),
    'tests/unit/test_z.c': '#define S MM_SOURCE_ROOT "/tests/data/ssmix2-samples"\n'
                           '#define S2 S "/nho/sampleData/%s/%s"\n'
                           '#define T MM_SOURCE_ROOT "/tests/%s/tests/data"\n'
                           'int a = load("%s/%s/etc");\n'
                           'int b = strcmp(d->d_name, "%s") == 0;\n'
                           'int c = load("%s/%s/%s/%s/etc/passwd"); /* outside-path-ok: hostile */\n'
                           '/* ... and more ... */\n' % ((UP,) * 10),
    'tests/http/t.py': "p = ('/%s/%s/%s/%s/etc/passwd', 'mm_session=%s/%s/etc')\n"
                       % (UP, UP, UP, UP, UP, UP),
    'Makefile': 'all:\n\t$(BUILD)/tools/gen/mamori-gen --out demo/storage\n',
    'README.md': 'The samples used to be read from %s/shared/ssmix2-samples.\n' % UP,
    'tests/data/ssmix2-samples/x/file': 'MSH|%s/anything|%s/x\n' % (UP, WORK),
    'src/lib/x.c': '/* not checked: %s/%s/anything */\n' % (UP, UP),
    'fuzz/fuzz_x.c': 'if (!strcmp(de->d_name, "%s")) continue;\n' % UP,
}


def write_tree(root, files):
    for rel, content in files.items():
        path = os.path.join(root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, 'w', encoding='utf-8') as f:
            f.write(content)


def run(checker, files):
    with tempfile.TemporaryDirectory(prefix='mm-outside-') as d:
        root = os.path.join(d, 'repo')
        os.mkdir(root)
        write_tree(root, files)
        p = subprocess.run([sys.executable, checker, root], capture_output=True, text=True)
        return p.returncode, p.stdout + p.stderr


def main():
    checker = sys.argv[1]
    n = 0
    failed = 0
    print('1..%d' % (len(BAD) + 3))
    for rel, content, line in BAD:
        n += 1
        rc, out = run(checker, {rel: content})
        ok = rc == 1 and ('%s:%d:' % (rel, line)) in out and '1 problems' in out
        print('%s %d - %s:%d pointing outside is found' % ('ok' if ok else 'not ok', n, rel, line))
        if not ok:
            failed += 1
            print('# rc=%d\n# ' % rc + out.replace('\n', '\n# '))
    n += 1
    rc, out = run(checker, CLEAN)
    ok = rc == 0 and '0 problems' in out
    print('%s %d - the legitimate relative paths pass' % ('ok' if ok else 'not ok', n))
    if not ok:
        failed += 1
        print('# rc=%d\n# ' % rc + out.replace('\n', '\n# '))
    n += 1
    bad = dict(CLEAN)
    bad['tests/unit/test_z.c'] += '#define U MM_SOURCE_ROOT "/%s/anything"\n' % UP
    rc, out = run(checker, bad)
    ok = rc == 1 and 'tests/unit/test_z.c:8:' in out and '1 problems' in out
    print('%s %d - one bad line among good ones is found' % ('ok' if ok else 'not ok', n))
    if not ok:
        failed += 1
        print('# rc=%d\n# ' % rc + out.replace('\n', '\n# '))
    n += 1
    p = subprocess.run([sys.executable, checker], capture_output=True, text=True)
    ok = p.returncode == 2
    print('%s %d - usage error without a root' % ('ok' if ok else 'not ok', n))
    failed += 0 if ok else 1
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
