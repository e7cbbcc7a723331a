#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# A medium on a real exFAT file system (what hospitals' Windows PCs read): a 256 MB loop
# image made with mkfs.exfat -L MON, mounted with the kernel's exfat driver when there is
# one, else exfat-fuse. On it: init, media init/show, backup of a mamori-gen storage and of a
# folder whose names exFAT could not hold (case twins, : * ? " < > |, trailing dots, a
# symlink: they live only inside encrypted trees), generations, verify --read-data, restore
# (byte for byte), show --repo, mamori-gen advance and a second backup, prune, verify and
# audit verify again; a backup asking for another medium or hospital is refused and writes
# nothing. The emergency guide lies on the medium under its Japanese and ASCII names with the
# label filled in, and verify checks every viewer file against the manifest's SHA-256 list
# (sha256sum -c accepts `verify --viewer-hashes`), also after a remount; with a (fake) Windows
# build, bin/mamori.exe, both launchers and SHA256SUMS-windows.txt are there and match. Every name mamori wrote on the medium must be one Windows accepts, unique without
# regard to case, and no file may be a symlink.
#
# Needs root, losetup and mkfs.exfat (exfatprogs) and a way to mount exFAT: otherwise it
# prints "skipped: ..." and exits 77. Unmounts and detaches the loop device even on failure.
#
# usage: media-exfat.sh [<mamori> <mamori-gen>]   (default: $MAMORI and $MAMORI_GEN)
set -u

NAME=media-exfat
# shellcheck source=tests/crash/lib.sh
. "$(dirname "$0")/lib.sh"
crash_binaries "$@"
[ "$(id -u)" = 0 ] || skip "needs root"
command -v losetup >/dev/null && command -v mkfs.exfat >/dev/null ||
    skip "needs losetup and mkfs.exfat (exfatprogs)"

W=$(mktemp -d "${TMPDIR:-/tmp}/mm-exfat-XXXXXX") || exit 1
MNT=$W/mnt
mkdir "$MNT" || exit 1
LOOP=""
mounted=0
cleanup() {
    cd /
    if [ "$mounted" = 1 ]; then
        umount "$MNT" 2>/dev/null || fusermount -u "$MNT" 2>/dev/null || umount -l "$MNT"
    fi
    [ -n "$LOOP" ] && losetup -d "$LOOP"
    rm -rf "$W"
}
trap cleanup EXIT

truncate -s 256M "$W/medium.img" || skip "cannot make the image"
LOOP=$(losetup -f --show "$W/medium.img" 2>/dev/null) || { LOOP=""; skip "cannot attach a loop device"; }
mkfs.exfat -L MON "$LOOP" >/dev/null 2>&1 || skip "mkfs.exfat failed"
DRIVER=""
if mount -t exfat "$LOOP" "$MNT" 2>/dev/null; then
    DRIVER="kernel exfat"
elif command -v mount.exfat-fuse >/dev/null && mount.exfat-fuse "$LOOP" "$MNT" >/dev/null 2>&1; then
    DRIVER="exfat-fuse"
else
    skip "cannot mount exFAT (no kernel exfat module, no exfat-fuse)"
fi
mounted=1
echo "exFAT image on $LOOP mounted with $DRIVER"

unset MAMORI_LANG LANGUAGE LC_MESSAGES MAMORI_CACHE
export LANG=C.UTF-8 LC_ALL=C.UTF-8
export MAMORI_PASSPHRASE=exfat-medium-passphrase
export MAMORI_VIEWER_COPY=1 # the viewer and its libraries are copied to the medium too
# and a (fake) Windows build with them: bin/mamori.exe, the launchers, their SHA-256 list
printf 'MZ a stand-in for the Windows build' >"$W/mamori.exe" || exit 1
export MAMORI_WINDOWS_EXE=$W/mamori.exe
export XDG_CACHE_HOME=$W/cache
export MAMORI_AUDIT_DIR=$W/audit-host
R=$MNT/repo

# The names on the medium must be ones Windows accepts, unique whatever their case, and
# none may be a symlink.
check_names() {
    local bad
    bad=$(cd "$MNT" && find . -mindepth 1 -printf '%f\n' | LC_ALL=C grep -n '[:*?"<>|\\]\|[. ]$')
    [ -z "$bad" ] || fail "$1: names Windows forbids on the medium: $bad"
    bad=$(cd "$MNT" && find . -mindepth 1 | tr 'A-Z' 'a-z' | LC_ALL=C sort | uniq -d)
    [ -z "$bad" ] || fail "$1: names differing only in case: $bad"
    bad=$(cd "$MNT" && find . -type l)
    [ -z "$bad" ] || fail "$1: symlinks on the medium: $bad"
}

# ---- the sources: a generated storage, and a folder of names exFAT cannot hold ----------------
"$G" --out "$W/src/g" --patients 20 --days 20 --seed 11 --extended -q || fail "mamori-gen failed"
P="$W/src/odd"
mkdir -p "$P/Case" "$P/case" || fail "cannot make the odd folder"
echo upper >"$P/Case/A.txt" && echo lower >"$P/case/a.txt" &&
    echo colon >"$P/a:b" && echo star >"$P/x*y?" && echo quote >"$P/q\"<>|" &&
    echo dot >"$P/trailing." && echo space >"$P/trailing " && ln -s Case/A.txt "$P/link" ||
    fail "cannot write the odd names"

must init "$M" -q init --repo "$R" --kdf-passes 1 --kdf-memory 1 --allow-weak-secrets
must media-init "$M" media init --repo "$R" --label MON --hospital 1310012345
grep -q 'Windows' "$W/media-init.err" && { show "$W/media-init.err"; fail "media init warned on exFAT"; }
must media-show "$M" --lang en media show --repo "$R"
grep -q '^label: *MON$' "$W/media-show.out" && grep -q '^hospital: *1310012345$' "$W/media-show.out" ||
    { show "$W/media-show.out"; fail "media show does not print the label"; }
grep -q 'exfat' "$W/media-show.out" || { show "$W/media-show.out"; fail "media show does not name exFAT"; }
echo "init, media init, media show: $(grep filesystem "$W/media-show.out")"

# ---- refused: another medium, another hospital; nothing written -------------------------------
(cd "$MNT" && find . -printf '%p %s\n' | LC_ALL=C sort) >"$W/before"
must_be refused-label 1 "$M" --lang en backup --repo "$R" --medium TUE --hospital 1310012345 "$W/src/g"
grep -q "this medium is 'MON'.*wanted is 'TUE'" "$W/refused-label.err" ||
    { show "$W/refused-label.err"; fail "the refusal does not name both media"; }
must_be refused-hospital 1 "$M" backup --repo "$R" --medium MON --hospital 9999999999 "$W/src/g"
(cd "$MNT" && find . -printf '%p %s\n' | LC_ALL=C sort) >"$W/after"
diff "$W/before" "$W/after" >/dev/null || { diff "$W/before" "$W/after" >&2; fail "a refused backup wrote"; }
# the refusals are in this host's audit log (not on the medium, which got nothing)
must audit-host "$M" audit show --repo "$R" --host
[ "$(grep -c 'reason=wrong-label\|reason=other-hospital' "$W/audit-host.out")" = 2 ] ||
    { show "$W/audit-host.out"; fail "the host's audit log does not hold both refusals"; }
echo "backup for TUE / another hospital: refused, nothing written, in the host's audit log"

# ---- backups, verify, restore ------------------------------------------------------------------
must backup1 "$M" -q backup --repo "$R" --medium MON --hospital 1310012345 "$W/src/g" "$P"
check_names "the first backup"
for f in 緊急時の使い方.html 緊急時の使い方.txt README-EMERGENCY.html README-EMERGENCY.txt; do
    [ -s "$R/$f" ] || fail "the guide '$f' is not on the medium"
    grep -q 'MON' "$R/$f" && grep -q '1310012345' "$R/$f" || fail "'$f' does not name the medium"
done
[ "$(cd "$R" && ls | grep -c '^緊急時の使い方\.\(html\|txt\)$')" = 2 ] ||
    fail "the Japanese names did not survive exFAT: $(cd "$R" && ls | tr '\n' ' ')"
must hashes "$M" -q verify --repo "$R" --viewer-hashes
grep -q '  bin/mamori$' "$W/hashes.out" && grep -q '  緊急時の使い方.txt$' "$W/hashes.out" ||
    { show "$W/hashes.out"; fail "verify --viewer-hashes lacks bin/mamori or the guide"; }
(cd "$R" && sha256sum -c "$W/hashes.out") >"$W/sha.out" 2>&1 ||
    { show "$W/sha.out"; fail "sha256sum -c does not accept the viewer's files on exFAT"; }
echo "guide on exFAT: $(cd "$R" && ls | grep -c 'EMERGENCY\|緊急') files; $(grep -c . "$W/hashes.out") viewer files match sha256sum"
[ -f "$R/bin/mamori" ] && [ -f "$R/mamori-view.sh" ] || fail "the viewer was not copied to the medium"
cmp -s "$W/mamori.exe" "$R/bin/mamori.exe" && cmp -s "$R/緊急時ビューア.bat" "$R/mamori-view.bat" ||
    fail "the Windows viewer and its launchers are not on exFAT: $(cd "$R" && ls | tr '\n' ' ')"
grep -q '  bin/mamori.exe$' "$W/hashes.out" && grep -q '  緊急時ビューア.bat$' "$W/hashes.out" ||
    { show "$W/hashes.out"; fail "verify --viewer-hashes lacks the Windows files"; }
(cd "$R" && tr -d '\r' <SHA256SUMS-windows.txt | sha256sum -c) >"$W/winsha.out" 2>&1 ||
    { show "$W/winsha.out"; fail "SHA256SUMS-windows.txt does not match the files on exFAT"; }
echo "Windows viewer on exFAT: bin/mamori.exe, 緊急時ビューア.bat, mamori-view.bat, SHA256SUMS-windows.txt"
grep -q 'viewer' "$W/backup1.err" && { show "$W/backup1.err"; fail "the viewer could not be updated"; }
# the copy on the medium runs through its own loader, as the launcher starts it
ld=$(ls "$R"/bin/lib/ld-linux*.so* | head -n 1)
"$ld" --library-path "$R/bin/lib" "$R/bin/mamori" version >"$W/ver.out" 2>&1 ||
    { show "$W/ver.out"; fail "the viewer copied to the medium does not run"; }
must gens "$M" generations --repo "$R" --json
[ "$(grep -o '"id":"' "$W/gens.out" | wc -l)" = 1 ] || fail "one generation expected"
must verify1 "$M" verify --repo "$R" --read-data
grep -q '^  OK  *[0-9a-f]\{64\}  緊急時の使い方.html$' "$W/verify1.out" &&
    grep -q '^  OK  *[0-9a-f]\{64\}  bin/mamori$' "$W/verify1.out" ||
    { show "$W/verify1.out"; fail "verify does not check the guide and bin/mamori"; }
must restore1 "$M" -q restore --repo "$R" latest --to "$W/restore1"
diff -r --no-dereference "$W/src/g" "$W/restore1/g" >"$W/diff.out" 2>&1 &&
    diff -r --no-dereference "$P" "$W/restore1/odd" >>"$W/diff.out" 2>&1 ||
    { head -20 "$W/diff.out" >&2; fail "the first generation does not restore to its sources"; }
[ "$(readlink "$W/restore1/odd/link")" = Case/A.txt ] || fail "the symlink did not come back"
pid=$(ls "$W/src/g/standard" | head -n 1)
pid=$(ls "$W/src/g/standard/$pid" | head -n 1)
pid=$(ls "$W/src/g/standard/${pid:0:3}/$pid" 2>/dev/null | head -n 1)
[ -n "$pid" ] || pid=$(find "$W/src/g/standard" -mindepth 3 -maxdepth 3 -type d -printf '%f\n' | head -n 1)
must show "$M" show "$pid" --repo "$R"
echo "backup 1, generations, verify --read-data, restore, show --repo: ok"

"$G" advance --out "$W/src/g" --days 1 -q || fail "mamori-gen advance failed"
echo changed >>"$P/case/a.txt"
must backup2 "$M" -q backup --repo "$R" --medium MON --hospital 1310012345 "$W/src/g" "$P"
check_names "the second backup"
must restore2 "$M" -q restore --repo "$R" latest --to "$W/restore2"
diff -r --no-dereference "$W/src/g" "$W/restore2/g" >"$W/diff.out" 2>&1 &&
    diff -r --no-dereference "$P" "$W/restore2/odd" >>"$W/diff.out" 2>&1 ||
    { head -20 "$W/diff.out" >&2; fail "the second generation does not restore to its sources"; }
# (prune keeps the newest generation that verified clean: verify the second one first)
must verify2 "$M" verify --repo "$R" --read-data
must prune "$M" -q prune --repo "$R" --keep-last 1
check_names "prune"
must verify3 "$M" verify --repo "$R" --read-data
must audit "$M" audit verify --repo "$R"
must gens2 "$M" generations --repo "$R" --json
[ "$(grep -o '"id":"' "$W/gens2.out" | wc -l)" = 1 ] || fail "prune should keep one generation"
echo "advance, backup 2, restore, prune, verify --read-data, audit verify: ok"

# ---- the medium survives an unmount and a mount (what the daily cycle does) ---------------------
umount "$MNT" && mounted=0 || fail "cannot unmount"
if [ "$DRIVER" = "kernel exfat" ]; then
    mount -t exfat "$LOOP" "$MNT" || fail "cannot mount again"
else
    mount.exfat-fuse "$LOOP" "$MNT" >/dev/null 2>&1 || fail "cannot mount again"
fi
mounted=1
must media-show2 "$M" media show --repo "$R"
must verify4 "$M" verify --repo "$R" --read-data
grep -q '不一致\|なし    \|読めない' "$W/verify4.out" && { show "$W/verify4.out"; fail "viewer files differ after a remount"; }
# a changed byte of the guide on exFAT is found
printf 'X' | dd of="$R/README-EMERGENCY.html" bs=1 seek=200 conv=notrunc 2>/dev/null
must_be verify5 3 "$M" -q verify --repo "$R"
grep -q 'README-EMERGENCY.html' "$W/verify5.out" || { show "$W/verify5.out"; fail "verify does not name the changed guide"; }
echo "remounted: media show and verify --read-data ok; a changed guide is found (exit 3)"
exit 0
