#!/bin/bash
# tools/windows/deps.sh — the Windows (x86-64, mingw-w64) builds of the libraries the viewer side
# of mamori links, made from Debian's own source packages (`apt-get source`; nothing else is
# downloaded, nothing is committed).
#
#   tools/windows/deps.sh            build what is missing into ${MM_WINDEPS:-build-windows/deps}
#
# Layout of the cache (DEPS):
#   src/<pkg>/          apt-get source work folder of one package (unpacked, patched by Debian)
#   prefix/             include/ lib/ lib/pkgconfig/ — static libraries only (no DLL)
#   stamps/<pkg>_<debian version>.stamp   one per package built; a second run rebuilds nothing
#   logs/<pkg>.log      the whole build log of one package
#   mingw64.cross       meson cross file (absolute paths)
#
# The .pc files are relocatable (prefix=${pcfiledir}/../..), so the cache may be moved or shared
# (MM_WINDEPS=<a folder shared by several checkouts>).
set -euo pipefail

HOST=x86_64-w64-mingw32
CC_W="$HOST-gcc-posix"
# what changes the libraries: a new value rebuilds every package
RECIPE="r1 $CC_W -O2 static"
PACKAGES=(libsodium libzstd sqlite3 libmicrohttpd jansson cmocka)

DEPS="${MM_WINDEPS:-build-windows/deps}"
mkdir -p "$DEPS"
DEPS="$(cd "$DEPS" && pwd -P)"
PREFIX="$DEPS/prefix"
JOBS="${MM_WINDEPS_JOBS:-2}"
SUDO=""
[ "$(id -u)" = 0 ] || SUDO=sudo

die() {
  echo "deps: $*" >&2
  exit 1
}

for t in "$CC_W" "$HOST-ar" "$HOST-ranlib" "$HOST-strip" "$HOST-windres" dpkg-source \
  pkg-config tclsh autoreconf cmake make; do
  command -v "$t" >/dev/null 2>&1 || die "$t がありません / $t is missing (make windows installs it)"
done

mkdir -p "$DEPS/src" "$PREFIX/include" "$PREFIX/lib/pkgconfig" "$DEPS/stamps" "$DEPS/logs"

# the deb-src entries: the same archive as the binary entries, Types: deb-src
enable_deb_src() {
  local main=/etc/apt/sources.list.d/debian.sources out=/etc/apt/sources.list.d/mamori-deb-src.sources
  local tmp
  tmp="$(mktemp)"
  if [ -f "$main" ]; then
    # every deb822 stanza of Types: deb becomes Types: deb-src (URIs/Suites/Components/Signed-By kept)
    awk 'BEGIN { RS = ""; ORS = "\n\n" }
         /(^|\n)Types:[^\n]*deb([ \n]|$)/ {
           out = ""
           n = split($0, l, "\n")
           for (i = 1; i <= n; i++) {
             if (l[i] ~ /^#/) continue
             if (l[i] ~ /^Types:/) l[i] = "Types: deb-src"
             out = out l[i] "\n"
           }
           printf "%s\n", out
         }' "$main" >"$tmp"
  elif [ -f /etc/apt/sources.list ]; then
    # one-line format: "deb [opts] URI suite components" → one stanza each
    awk '$1 == "deb" {
           signed = ""; i = 2
           if ($2 ~ /^\[/) {
             for (; i <= NF; i++) {
               if ($i ~ /signed-by=/) { s = $i; sub(/.*signed-by=/, "", s); sub(/\]$/, "", s); signed = s }
               if ($i ~ /\]$/) { i++; break }
             }
           }
           printf "Types: deb-src\nURIs: %s\nSuites: %s\nComponents:", $i, $(i + 1)
           for (j = i + 2; j <= NF; j++) printf " %s", $j
           printf "\n"
           if (signed != "") printf "Signed-By: %s\n", signed
           printf "\n"
         }' /etc/apt/sources.list >"$tmp"
  fi
  [ -s "$tmp" ] || die "no Debian archive found in $main or /etc/apt/sources.list"
  echo "deps: enabling deb-src entries ($out)"
  $SUDO install -m 0644 "$tmp" "$out"
  rm -f "$tmp"
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
}

# the Debian version of source package $1 (from the apt lists, one query for all: no network)
SRC_URIS=""
src_version() {
  sed -n "s/^'[^']*' $1_\(.*\)\.dsc .*/\1/p" <<<"$SRC_URIS" | head -n 1 | grep .
}

# every Debian version of source package $1 the apt lists know, newest first
src_versions() {
  apt-cache showsrc "$1" 2>/dev/null | sed -n 's/^Version: //p' | sort -u |
    sort -r -V
}

# unpack source package $1 at version $2 into src/$1/; when a mirror lacks that version's files
# (seen: a security update listed in the index, its sources missing from the mirror), the next
# older version the lists know is taken and a warning says so. Writes the version unpacked to
# src/$1/.version and prints the directory of its tree.
fetch_src() {
  local pkg="$1" want="$2" work="$DEPS/src/$1" v
  for v in "$want" $(src_versions "$pkg" | grep -vxF "$want"); do
    if dpkg --compare-versions "$v" gt "$want"; then continue; fi
    rm -rf "$work"
    mkdir -p "$work"
    if (cd "$work" && apt-get source -q "$pkg=$v") >&2; then
      if [ "$v" != "$want" ]; then
        echo "deps: WARNING: $pkg $want could not be downloaded; built $v instead" >&2
      fi
      echo "$v" >"$work/.version"
      find "$work" -mindepth 1 -maxdepth 1 -type d | head -n 1
      return 0
    fi
  done
  return 1
}

# prefix=<absolute> → prefix=${pcfiledir}/../.. and every copy of the absolute path → ${prefix}
fix_pc() {
  local pc="$1"
  sed -i -e "s|^prefix=.*|prefix=\${pcfiledir}/../..|" \
    -e "/^prefix=/!s|$PREFIX|\${prefix}|g" "$pc"
}

# -ffile-prefix-map: no path of this machine in the objects (__FILE__ in assertions/panics)
cflags_for() {
  echo "-O2 -ffile-prefix-map=$1=$2 -ffile-prefix-map=$DEPS=."
}

build_libsodium() {
  local s="$1"
  cd "$s"
  autoreconf -fi
  # --disable-ssp: -fstack-protector would need libssp at every later link
  CC="$CC_W" CFLAGS="$(cflags_for "$s" libsodium)" ./configure --host="$HOST" --prefix="$PREFIX" \
    --enable-static --disable-shared --disable-ssp --disable-dependency-tracking --with-pic=no
  make -j"$JOBS" -C src
  make -C src install
  make install-pkgconfigDATA
  rm -f "$PREFIX/lib/libsodium.la"
  # randombytes: RtlGenRandom (SystemFunction036) is advapi32's
  sed -i 's/^Libs.private:.*/Libs.private: -ladvapi32/' "$PREFIX/lib/pkgconfig/libsodium.pc"
  fix_pc "$PREFIX/lib/pkgconfig/libsodium.pc"
}

build_libzstd() {
  local s="$1"
  cd "$s/lib"
  local mk=(CC="$CC_W" AR="$HOST-ar" RANLIB="$HOST-ranlib" CFLAGS="$(cflags_for "$s" libzstd)"
    PREFIX="$PREFIX" LIBDIR="$PREFIX/lib" INCLUDEDIR="$PREFIX/include" PKGCONFIGDIR="$PREFIX/lib/pkgconfig")
  make -j"$JOBS" "${mk[@]}" libzstd.a
  make "${mk[@]}" libzstd.pc install-static install-includes install-pc
  fix_pc "$PREFIX/lib/pkgconfig/libzstd.pc"
}

# SQLite: the amalgamation (sqlite3.c) generated natively from the source package with tclsh and
# the host compiler (the generators only), then one cross-compiled object
build_sqlite3() {
  local s="$1" ver
  mkdir -p "$s/bld" && cd "$s/bld"
  ../configure --disable-tcl --disable-readline --disable-shared >/dev/null
  make -j"$JOBS" sqlite3.c sqlite3.h
  ver="$(sed -n 's/^#define SQLITE_VERSION *"\(.*\)"/\1/p' sqlite3.h)"
  # Debian's own compile options (debian/rules), less load_extension (never used; and no
  # parser regeneration: UPDATE_DELETE_LIMIT); --enable-fts4/fts5/json as there
  local f=(-DSQLITE_THREADSAFE=1 -fno-strict-aliasing -DSQLITE_SECURE_DELETE
    -DSQLITE_ENABLE_COLUMN_METADATA -DSQLITE_ENABLE_FTS3 -DSQLITE_ENABLE_FTS3_PARENTHESIS
    -DSQLITE_ENABLE_FTS4 -DSQLITE_ENABLE_FTS5 -DSQLITE_ENABLE_RTREE=1 -DSQLITE_SOUNDEX=1
    -DSQLITE_ENABLE_UNLOCK_NOTIFY -DSQLITE_OMIT_LOOKASIDE=1 -DSQLITE_ENABLE_DBSTAT_VTAB
    -DSQLITE_ALLOW_ROWID_IN_VIEW -DSQLITE_OMIT_LOAD_EXTENSION -DSQLITE_ENABLE_JSON1
    -DSQLITE_LIKE_DOESNT_MATCH_BLOBS -DSQLITE_ENABLE_FTS3_TOKENIZER=1 -DSQLITE_USE_URI=1
    -DSQLITE_MAX_SCHEMA_RETRY=25 -DSQLITE_ENABLE_STMTVTAB -DSQLITE_MAX_VARIABLE_NUMBER=250000)
  # shellcheck disable=SC2046
  "$CC_W" $(cflags_for "$s" sqlite3) "${f[@]}" -c sqlite3.c -o sqlite3.o
  rm -f libsqlite3.a
  "$HOST-ar" rcsD libsqlite3.a sqlite3.o
  install -m 0644 libsqlite3.a "$PREFIX/lib/"
  install -m 0644 sqlite3.h ../src/sqlite3ext.h "$PREFIX/include/"
  cat >"$PREFIX/lib/pkgconfig/sqlite3.pc" <<EOF
prefix=\${pcfiledir}/../..
libdir=\${prefix}/lib
includedir=\${prefix}/include

Name: SQLite
Description: SQL database engine (Windows static build of Debian's sqlite3 source package)
Version: $ver
Libs: -L\${libdir} -lsqlite3
Cflags: -I\${includedir}
EOF
}

build_libmicrohttpd() {
  local s="$1"
  cd "$s"
  CC="$CC_W" CFLAGS="$(cflags_for "$s" libmicrohttpd)" ./configure --host="$HOST" \
    --prefix="$PREFIX" --enable-static --disable-shared --disable-https --disable-curl \
    --disable-doc --disable-examples --disable-dependency-tracking --with-threads=auto \
    --disable-nls
  # --with-threads=auto gives W32 threads (0.9.75 refuses =w32: its check runs only for auto).
  # The sockets of the Windows build are winsock2's (mhd_sockets.h: MHD_WINSOCK_SOCKETS on _WIN32)
  grep -q '^#define HAVE_WINSOCK2_H 1' MHD_config.h || die "libmicrohttpd: no winsock2.h"
  grep -q '^#define MHD_USE_W32_THREADS 1' MHD_config.h || die "libmicrohttpd: not W32 threads"
  make -j"$JOBS" -C src/microhttpd
  "$HOST-nm" src/microhttpd/.libs/libmicrohttpd.a | grep -c '__imp_WSAStartup' >/dev/null ||
    die "libmicrohttpd: not linked against winsock2 (no WSAStartup)"
  make -C src/microhttpd install
  make -C src/include install
  make install-pkgconfigDATA
  rm -f "$PREFIX/lib/libmicrohttpd.la"
  sed -i 's/^Libs.private:.*/Libs.private: -lws2_32/' "$PREFIX/lib/pkgconfig/libmicrohttpd.pc"
  fix_pc "$PREFIX/lib/pkgconfig/libmicrohttpd.pc"
}

build_jansson() {
  local s="$1"
  mkdir -p "$s/bld" && cd "$s/bld"
  cmake .. -DCMAKE_SYSTEM_NAME=Windows -DCMAKE_C_COMPILER="$CC_W" -DCMAKE_RC_COMPILER="$HOST-windres" \
    -DCMAKE_BUILD_TYPE=Release -DCMAKE_C_FLAGS_RELEASE="$(cflags_for "$s" jansson)" \
    -DCMAKE_INSTALL_PREFIX="$PREFIX" -DJANSSON_BUILD_SHARED_LIBS=OFF -DJANSSON_BUILD_DOCS=OFF \
    -DJANSSON_EXAMPLES=OFF -DJANSSON_WITHOUT_TESTS=ON -DJANSSON_INSTALL=ON
  make -j"$JOBS"
  make install
  rm -rf "$PREFIX/lib/cmake/jansson"
  fix_pc "$PREFIX/lib/pkgconfig/jansson.pc"
}

# cmocka: the unit tests that also run under Wine (test_win_path.exe); its static library only
build_cmocka() {
  local s="$1"
  mkdir -p "$s/bld" && cd "$s/bld"
  cmake .. -DCMAKE_SYSTEM_NAME=Windows -DCMAKE_C_COMPILER="$CC_W" -DCMAKE_RC_COMPILER="$HOST-windres" \
    -DCMAKE_BUILD_TYPE=Release -DCMAKE_C_FLAGS_RELEASE="$(cflags_for "$s" cmocka)" \
    -DWITH_STATIC_LIB=ON -DWITH_EXAMPLES=OFF -DUNIT_TESTING=OFF
  make -j"$JOBS" cmocka-static
  install -m 0644 src/libcmocka-static.a "$PREFIX/lib/libcmocka.a"
  install -m 0644 ../include/cmocka.h "$PREFIX/include/"
  cat >"$PREFIX/lib/pkgconfig/cmocka.pc" <<EOF
prefix=\${pcfiledir}/../..
libdir=\${prefix}/lib
includedir=\${prefix}/include

Name: cmocka
Description: The cmocka unit testing library (Windows static build of Debian's cmocka source package)
Version: $(sed -n 's/^project(cmocka VERSION \([0-9.]*\).*/\1/p' ../CMakeLists.txt)
Libs: -L\${libdir} -lcmocka
Cflags: -I\${includedir}
EOF
}

write_cross() {
  local wrap="" out="$DEPS/mingw64.cross" tmp
  for w in wine64 /usr/lib/wine/wine64 wine; do
    if command -v "$w" >/dev/null 2>&1; then
      wrap="$(command -v "$w")"
      break
    fi
  done
  tmp="$(mktemp)"
  {
    echo "# generated by tools/windows/deps.sh — do not edit"
    echo "[binaries]"
    echo "c = '$(command -v "$CC_W")'"
    echo "ar = '$(command -v "$HOST-ar")'"
    echo "strip = '$(command -v "$HOST-strip")'"
    echo "windres = '$(command -v "$HOST-windres")'"
    echo "pkgconfig = '$(command -v pkg-config)'" # (meson 1.0's key; pkg-config from 1.3)
    [ -z "$wrap" ] || echo "exe_wrapper = '$wrap'"
    echo
    echo "[properties]"
    echo "pkg_config_libdir = '$PREFIX/lib/pkgconfig'"
    echo
    echo "[built-in options]"
    echo "prefer_static = true"
    echo
    echo "[host_machine]"
    echo "system = 'windows'"
    echo "cpu_family = 'x86_64'"
    echo "cpu = 'x86_64'"
    echo "endian = 'little'"
  } >"$tmp"
  if cmp -s "$tmp" "$out"; then rm -f "$tmp"; else mv "$tmp" "$out"; fi
}

# --- main --------------------------------------------------------------------------------------
if ! SRC_URIS="$(cd "$DEPS/src" && apt-get source -qq --print-uris "${PACKAGES[@]}" 2>/dev/null)"; then
  enable_deb_src
  SRC_URIS="$(cd "$DEPS/src" && apt-get source -qq --print-uris "${PACKAGES[@]}")" ||
    die "apt-get source: no source packages (deb-src?)"
fi

built=0
start_all=$SECONDS
for pkg in "${PACKAGES[@]}"; do
  ver="$(src_version "$pkg")" || die "apt-get source $pkg: no source package (deb-src?)"
  # a stamp is named by the version built and holds the recipe and the version wanted (they
  # differ when the mirror lacked the wanted one's sources: fetch_src)
  done_stamp=""
  for s in "$DEPS/stamps/${pkg}_"*.stamp; do
    if [ -f "$s" ] && [ "$(sed -n 1p "$s")" = "$RECIPE" ] &&
      [ "$(sed -n 2p "$s")" = "wanted $ver" ]; then
      done_stamp=$s
    fi
  done
  if [ -n "$done_stamp" ]; then
    continue
  fi
  log="$DEPS/logs/$pkg.log"
  t0=$SECONDS
  echo "deps: $pkg $ver (log: $log)"
  rm -f "$DEPS/stamps/${pkg}_"*.stamp
  if ! (
    set -euo pipefail
    s="$(fetch_src "$pkg" "$ver")"
    "build_$pkg" "$s"
  ) >"$log" 2>&1; then
    tail -n 30 "$log" >&2
    die "$pkg の構築に失敗しました / building $pkg failed: $log"
  fi
  grep -h "^deps: WARNING" "$log" >&2 || true
  built_ver="$(cat "$DEPS/src/$pkg/.version")"
  printf '%s\nwanted %s\n' "$RECIPE" "$ver" >"$DEPS/stamps/${pkg}_${built_ver}.stamp"
  echo "deps: $pkg done in $((SECONDS - t0)) s"
  built=$((built + 1))
done
write_cross
if [ "$built" = 0 ]; then
  echo "deps: cached ($DEPS)"
else
  echo "deps: $built package(s) built in $((SECONDS - start_all)) s ($DEPS)"
fi
