#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""`make install DESTDIR=…` and the installed systemd units (issue 16), as TAP.

Installs the build into a scratch DESTDIR with the Makefile (umask 077, so the modes must come
from the install rules), then checks every file at its exact path and mode and nothing else
there; that the admin's /etc/mamori/mamori.conf survives; that make install compiled nothing
and changed nothing in the source tree; `systemd-analyze verify` of every installed unit in a
scratch root (the DESTDIR tree plus this host's units, so ExecStart= is checked against the
installed binary) with a broken unit that must fail it; the exposure `systemd-analyze security`
gives; the installed binary (--version, config check of the installed example); the status
unit's shell (an answer replaces the textfile, no answer keeps the old one) and its run of
`mamori status`; make uninstall.

usage: test_install.py SRCDIR BUILDDIR
"""
import json
import os
import re
import shlex
import shutil
import stat
import subprocess
import sys
import tempfile

SRC, BUILD = sys.argv[1], sys.argv[2]
n = 0
failed = 0


def tap(ok, name, detail=""):
    global n, failed
    n += 1
    if not ok:
        failed += 1
    print(("ok" if ok else "not ok") + " %d - %s" % (n, name))
    if not ok and detail:
        for line in str(detail).rstrip().splitlines()[:40]:
            print("# " + line)
    sys.stdout.flush()
    return ok


def skip(name, why):
    global n
    n += 1
    print("ok %d - %s # SKIP %s" % (n, name, why))


def run(argv, **kw):
    return subprocess.run(argv, capture_output=True, text=True, **kw)


def build_option(name):
    out = run(["meson", "introspect", BUILD, "--buildoptions"], check=True).stdout
    return next(o["value"] for o in json.loads(out) if o["name"] == name)


def layout():
    """The paths etc/meson.build must produce for this build's prefix (Debian's for /usr)."""
    prefix = build_option("prefix")
    unitdir = build_option("systemdsystemunitdir")
    pc = run(["pkg-config", "--variable=systemdsystemunitdir", "systemd"])
    if not unitdir:
        if pc.returncode == 0 and prefix == "/usr":
            unitdir = pc.stdout.strip()
        else:
            unitdir = prefix + "/lib/systemd/system"
    etc = "/etc" if prefix == "/usr" else prefix + "/etc"
    return prefix, prefix + "/bin", etc, prefix + "/share", unitdir


def expected_files(bindir, etc, share, unitdir):
    """{path: (mode, source file or None)}"""
    doc = share + "/doc/mamori"
    e = {bindir + "/mamori": (0o755, None)}
    for u in ("mamori.service", "mamori.timer", "mamori-status.service", "mamori-status.timer"):
        e[unitdir + "/" + u] = (0o644, None)
    conf = os.path.join(SRC, "etc", "mamori.conf.example")
    e[etc + "/mamori/mamori.conf.example"] = (0o644, conf)
    e[doc + "/examples/mamori.conf.example"] = (0o644, conf)
    hooks = os.path.join(SRC, "etc", "hooks")
    for h in sorted(os.listdir(hooks)):
        e[share + "/mamori/hooks/" + h] = (0o755, os.path.join(hooks, h))
    docs = ["README.md", "docs/operations.md", "docs/format.md", "docs/format-crypto.md",
            "docs/orders.md", "docs/security.md"]
    for d in docs:
        e[doc + "/" + os.path.basename(d)] = (0o644, os.path.join(SRC, d))
    win = os.path.join(SRC, "build-windows", "mamori.exe")
    if windows_configured():
        e[os.path.dirname(bindir) + "/lib/mamori/windows/mamori.exe"] = (0o755, win)
    return e


def windows_configured():
    """Whether the build folder installs the Windows viewer (build-windows/mamori.exe existed
    when it was configured, etc/meson.build)."""
    out = run(["meson", "introspect", BUILD, "--installed"], check=True).stdout
    return any(d.endswith("/lib/mamori/windows/mamori.exe") for d in json.loads(out).values())


def tree(root):
    """{path below root: lstat} for files and symlinks; and the folders."""
    files, dirs = {}, {}
    for d, dns, fns in os.walk(root):
        rel = d[len(root):] or "/"
        dirs[rel] = os.lstat(d)
        for f in fns:
            p = os.path.join(d, f)
            files[p[len(root):]] = os.lstat(p)
    return files, dirs


def build_outputs():
    """mtimes of what a rebuild would write: objects, archives, executables, build.ninja."""
    out = {}
    for d, dns, fns in os.walk(BUILD):
        dns[:] = [x for x in dns if x not in ("meson-logs", "meson-private")]
        for f in fns:
            p = os.path.join(d, f)
            try:
                st = os.lstat(p)
            except FileNotFoundError:
                continue  # a file of another test, gone
            if stat.S_ISREG(st.st_mode) and (f.endswith((".o", ".a", ".so")) or f == "build.ninja"
                                             or st.st_mode & 0o111):
                out[p] = st.st_mtime_ns
    return out


def git_status():
    r = run(["git", "-C", SRC, "status", "--porcelain", "--ignored=no"])
    return r.stdout if r.returncode == 0 else None


def make(target, destdir, prefix, build=BUILD):
    return run(["make", "-C", SRC, "--no-print-directory", target, "BUILD=" + build,
                "DESTDIR=" + destdir, "PREFIX=" + prefix], preexec_fn=lambda: os.umask(0o077))


def unit_exec(path):
    for line in open(path, encoding="utf-8"):
        if line.startswith("ExecStart="):
            return line[len("ExecStart="):].rstrip("\n")
    return None


def check_install(tmp, root, prefix, bindir, etc, share, unitdir):
    expect = expected_files(bindir, etc, share, unitdir)
    admin_conf = root + etc + "/mamori/mamori.conf"
    os.makedirs(os.path.dirname(admin_conf))
    with open(admin_conf, "w") as f:
        f.write("# the admin's own configuration: make install never touches it\n")
    os.chmod(admin_conf, 0o600)

    before_build, before_git = build_outputs(), git_status()
    r = make("install", root, prefix)
    tap(r.returncode == 0, "make install DESTDIR=… PREFIX=%s (umask 077)" % prefix,
        r.stdout + r.stderr)
    r2 = make("install", root, prefix)
    tap(r2.returncode == 0, "make install a second time over the first", r2.stdout + r2.stderr)
    after_build = build_outputs()
    changed = sorted(p for p in before_build if after_build.get(p) != before_build[p])
    tap(not changed, "make install compiled nothing (objects, archives, executables unchanged)",
        "\n".join(changed))
    tap(git_status() == before_git, "make install changed nothing in the source tree",
        "%r\n%r" % (before_git, git_status()))

    files, dirs = tree(root)
    want = set(expect) | {etc + "/mamori/mamori.conf"}
    missing, extra = sorted(want - set(files)), sorted(set(files) - want)
    tap(not missing, "every expected file is installed", "missing: %s" % missing)
    tap(not extra, "nothing else is installed (no mamori-gen, no tests)", "extra: %s" % extra)
    bad = []
    for p, (mode, srcf) in sorted(expect.items()):
        st = files.get(p)
        if st is None:
            continue
        if not stat.S_ISREG(st.st_mode) or stat.S_IMODE(st.st_mode) != mode:
            bad.append("%s: %o, want %o" % (p, stat.S_IMODE(st.st_mode), mode))
        elif srcf and open(root + p, "rb").read() != open(srcf, "rb").read():
            bad.append("%s: differs from %s" % (p, srcf))
    tap(not bad, "modes (binary and hooks 0755, units, configuration, docs 0644) and contents",
        "\n".join(bad))
    baddirs = ["%s %o" % (d, stat.S_IMODE(s.st_mode)) for d, s in sorted(dirs.items())
               if d != "/" and stat.S_IMODE(s.st_mode) != 0o755]
    tap(not baddirs, "installed folders are 0755", "\n".join(baddirs))
    if prefix == "/usr" and open("/etc/debian_version").read().startswith("12"):
        tap(unitdir == "/lib/systemd/system" and bindir == "/usr/bin" and etc == "/etc",
            "Debian 12 layout: /usr/bin, /etc, /lib/systemd/system", (bindir, etc, unitdir))
    top = sorted({p.split("/")[1] for p in files})
    allowed = {prefix.split("/")[1], etc.split("/")[1], unitdir.split("/")[1]}
    tap(set(top) <= allowed, "nothing outside the prefix, /etc and the unit folder", top)
    with open(admin_conf) as f:
        tap(f.read().startswith("# the admin's own") and
            stat.S_IMODE(os.stat(admin_conf).st_mode) == 0o600,
            "an existing /etc/mamori/mamori.conf is left as it was")

    leftovers = []
    for u in ("mamori.service", "mamori.timer", "mamori-status.service", "mamori-status.timer"):
        text = open(root + unitdir + "/" + u, encoding="utf-8").read()
        leftovers += ["%s: %s" % (u, m) for m in re.findall(r"@[a-z]+@", text)]
    tap(not leftovers, "no @placeholder@ is left in the units", "\n".join(leftovers))
    argv = shlex.split(unit_exec(root + unitdir + "/mamori.service") or "")
    tap(argv == [bindir + "/mamori", "run", "--config", etc + "/mamori/mamori.conf"],
        "mamori.service runs `%s/mamori run --config %s/mamori/mamori.conf`" % (bindir, etc),
        argv)
    return expect


def check_binary(root, bindir, etc, share):
    exe = root + bindir + "/mamori"
    version = run(["meson", "introspect", BUILD, "--projectinfo"], check=True).stdout
    version = json.loads(version)["version"]
    r = run([exe, "--version"])
    tap(r.returncode == 0 and r.stdout.strip() == "mamori " + version,
        "the installed mamori runs: --version says mamori %s" % version, r.stdout + r.stderr)
    for conf in (root + etc + "/mamori/mamori.conf.example",
                 root + share + "/doc/mamori/examples/mamori.conf.example"):
        r = run([exe, "--lang", "en", "config", "check", "--config", conf])
        tap(r.returncode == 0 and ": valid" in r.stdout.splitlines()[0]
            and "hospital: 1310000001" in r.stdout,
            "config check passes on the installed example %s" % conf[len(root):],
            r.stdout + r.stderr)
    r = run([exe, "--lang", "en", "help", "run"])
    tap(r.returncode == 0 and "--config" in r.stdout, "`mamori help run` knows --config",
        r.stdout + r.stderr)
    check_windows_viewer(root, exe)
    return exe


def check_windows_viewer(root, exe):
    """The installed mamori puts the installed Windows viewer on a new medium (bin/ wanted)."""
    if not windows_configured():
        skip("the installed mamori puts the installed mamori.exe on a medium",
             "no build-windows/mamori.exe when the build folder was configured")
        return
    medium = os.path.join(os.path.dirname(root), "medium")
    env = dict(os.environ, MAMORI_VIEWER_COPY="1", MAMORI_PASSPHRASE="install-windows-viewer",
               XDG_STATE_HOME=medium + "-state", XDG_CACHE_HOME=medium + "-cache")
    env.pop("MAMORI_WINDOWS_EXE", None)
    r = run([exe, "-q", "init", "--repo", medium, "--kdf-passes", "1", "--kdf-memory", "1",
             "--allow-weak-secrets"], env=env)
    src = os.path.join(SRC, "build-windows", "mamori.exe")
    got = os.path.join(medium, "bin", "mamori.exe")
    tap(r.returncode == 0 and os.path.isfile(got) and
        open(got, "rb").read() == open(src, "rb").read() and
        os.path.isfile(os.path.join(medium, "緊急時ビューア.bat")),
        "the installed mamori puts the installed mamori.exe and its launcher on a new medium",
        r.stdout + r.stderr)


def verify_root(tmp, root):
    """A root for systemd-analyze: this host's units, then the installed tree, and /bin/sh."""
    vroot = os.path.join(tmp, "vroot")
    for host in ("/usr/lib/systemd/system", "/lib/systemd/system"):
        if os.path.isdir(host):
            shutil.copytree(host, vroot + "/usr/lib/systemd/system", symlinks=True,
                            dirs_exist_ok=True)
            break
    shutil.copytree(root, vroot, symlinks=True, dirs_exist_ok=True)
    os.makedirs(vroot + "/bin", exist_ok=True)
    shutil.copy("/bin/sh", vroot + "/bin/sh")
    return vroot


def check_units(tmp, root, bindir, unitdir):
    sa = shutil.which("systemd-analyze")
    if not sa:
        for name in ("systemd-analyze verify", "systemd-analyze security"):
            skip(name, "systemd-analyze is not installed")
        return
    vroot = verify_root(tmp, root)
    for u in ("mamori.service", "mamori.timer", "mamori-status.service", "mamori-status.timer"):
        r = run([sa, "verify", "--man=no", "--root=" + vroot, u], cwd=tmp)
        tap(r.returncode == 0 and not r.stderr.strip(),
            "systemd-analyze verify %s: clean" % u, r.stdout + r.stderr)
    # the same check must be able to fail: a missing binary, an unknown setting
    broken = open(vroot + unitdir + "/mamori.service", encoding="utf-8").read()
    broken = broken.replace(bindir + "/mamori run", bindir + "/mamori-missing run")
    broken = broken.replace("ProtectHome=yes", "ProtectHome=yes\nProtectEverything=yes")
    with open(vroot + unitdir + "/mamori-broken.service", "w") as f:
        f.write(broken)
    r = run([sa, "verify", "--man=no", "--root=" + vroot, "mamori-broken.service"], cwd=tmp)
    tap(r.returncode != 0 and "mamori-missing" in r.stderr and "ProtectEverything" in r.stderr,
        "systemd-analyze verify fails a broken copy (missing binary, unknown setting)",
        r.stdout + r.stderr)
    # exposure (0-100; `security` prints it /10): the cycle runs as root and mounts, so
    # about 4 is what the hooks allow; the status unit needs nothing and stays near 1
    for u, limit in (("mamori.service", 42), ("mamori-status.service", 15)):
        r = run([sa, "security", "--offline=yes", "--root=" + vroot, "--threshold=%d" % limit,
                 u], cwd=tmp)
        m = re.search(r"Overall exposure level for \S+: ([0-9.]+)", r.stdout + r.stderr)
        tap(r.returncode == 0 and m is not None,
            "systemd-analyze security %s: exposure %s, at most %.1f" %
            (u, m.group(1) if m else "?", limit / 10), r.stdout[-3000:] + r.stderr)


def status_snippet(root, unitdir, exe, conf):
    """The status unit's ExecStart as the shell gets it, with the installed binary and conf."""
    line = unit_exec(root + unitdir + "/mamori-status.service")
    argv = shlex.split(line)
    assert argv[:2] == ["/bin/sh", "-c"], argv
    script = argv[2].replace("$$", "$")  # systemd's escape for a literal $
    script = re.sub(r"\S+/bin/mamori ", exe + " ", script, count=1)
    return re.sub(r"--config \S+", "--config " + conf, script, count=1)


def check_status_unit(tmp, root, unitdir, exe, etc):
    prom = os.path.join(tmp, "textfile", "mamori.prom")
    os.makedirs(os.path.dirname(prom))
    with open(prom, "w") as f:
        f.write("# the previous answer\n")
    env = dict(os.environ, MAMORI_TEXTFILE=prom)
    # no answer (the configuration is missing): the old file stays, no temporary is left
    r = run(["/bin/sh", "-c", status_snippet(root, unitdir, exe, tmp + "/missing.conf")], env=env)
    tap(r.returncode != 0 and open(prom).read() == "# the previous answer\n"
        and os.listdir(os.path.dirname(prom)) == ["mamori.prom"],
        "status unit: without an answer the old textfile stays and the failure shows",
        "rc %d\n%s" % (r.returncode, r.stderr))
    conf = os.path.join(tmp, "status.conf")
    state = os.path.join(tmp, "state")
    os.makedirs(state)
    text = open(root + etc + "/mamori/mamori.conf.example", encoding="utf-8").read()
    text = text.replace("state_dir = /var/lib/mamori", "state_dir = " + state)
    text = text.replace("staging = /var/lib/mamori/staging", "staging = " + state + "/staging")
    with open(conf, "w") as f:
        f.write(text)
    r = run(["/bin/sh", "-c", status_snippet(root, unitdir, exe, conf)], env=env)
    body = open(prom).read()
    sample = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[^}]*\})? \S+$")
    bad = [l for l in body.splitlines() if l and not l.startswith("#") and not sample.match(l)]
    tap(body != "# the previous answer\n" and "mamori_" in body and not bad
        and os.listdir(os.path.dirname(prom)) == ["mamori.prom"],
        "status unit writes the Prometheus textfile (rc %d)" % r.returncode,
        body[:2000] + "\n" + "\n".join(bad) + r.stderr)


def check_refusals(tmp, prefix):
    """make install builds nothing: no build, a stale build or another prefix is refused."""
    dest = os.path.join(tmp, "refused")
    r = make("install", dest, prefix, build=os.path.join(tmp, "no-build"))
    tap(r.returncode != 0 and "make" in r.stderr and not os.path.exists(dest),
        "make install without a build folder is refused", r.stdout + r.stderr)
    fake = os.path.join(tmp, "stale-build")
    os.makedirs(fake)
    with open(fake + "/build.ninja", "w") as f:
        f.write("rule t\n  command = touch $out\nbuild %s/out: t\n" % fake)
    r = make("install", dest, prefix, build=fake)
    tap(r.returncode != 0 and "out of date" in r.stderr and not os.path.exists(fake + "/out")
        and not os.path.exists(dest),
        "make install on an out-of-date build is refused and builds nothing", r.stdout + r.stderr)
    r = make("install", dest, "/opt/elsewhere")
    tap(r.returncode != 0 and "/opt/elsewhere" in r.stderr and not os.path.exists(dest),
        "make install PREFIX= other than the build's prefix is refused", r.stdout + r.stderr)


def check_uninstall(root, prefix, etc, expect):
    r = make("uninstall", root, prefix)
    files, dirs = tree(root)
    left = sorted(set(files) - {etc + "/mamori/mamori.conf"})
    ours = sorted(d for d in dirs if "mamori" in d and d != etc + "/mamori")
    tap(r.returncode == 0 and not left and not ours and etc + "/mamori/mamori.conf" in files,
        "make uninstall removes every installed file and folder, not the admin's mamori.conf",
        r.stdout + r.stderr + "\nleft: %s\nfolders: %s" % (left, ours))


def main():
    if not shutil.which("make") or not shutil.which("meson"):
        print("1..0 # SKIP make or meson is not installed")
        return 0
    tmp = tempfile.mkdtemp(prefix="mamori-install-")
    try:
        root = os.path.join(tmp, "root")
        prefix, bindir, etc, share, unitdir = layout()
        expect = check_install(tmp, root, prefix, bindir, etc, share, unitdir)
        exe = check_binary(root, bindir, etc, share)
        check_units(tmp, root, bindir, unitdir)
        check_status_unit(tmp, root, unitdir, exe, etc)
        check_refusals(tmp, prefix)
        check_uninstall(root, prefix, etc, expect)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("1..%d" % n)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
