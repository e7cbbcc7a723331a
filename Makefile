# mamori — the front door. `make demo` and `make test` work on a fresh Debian 12 machine:
# both install what is missing first (`make deps`, with sudo when not root).
#
#   make deps     install missing Debian packages (idempotent)
#   make          build (build/)
#   make test     deps + build + format check + unit/CLI/fuzz-replay tests, then the same
#                 suites under AddressSanitizer + UndefinedBehaviorSanitizer; prints
#                 "N passed, N failed" last and exits non-zero on any failure
#   make demo     build + a generated demo hospital storage in demo/, a repository, and one
#                 daily cycle (`mamori run`) onto the demo media set
#   make bench    benchmarks (see docs/PERFORMANCE.md)
#   make format   reformat the sources with clang-format
#   make fuzz     libFuzzer build with clang (build-fuzz/)
#   make windows  the Windows viewer (mingw-w64 cross build): build-windows/mamori.exe and
#                 build-windows/SHA256SUMS.txt; its libraries are built once from Debian's source
#                 packages into build-windows/deps/ (or $$MM_WINDEPS) by tools/windows/deps.sh
#   make install  install the build (never compiles): PREFIX=/usr, DESTDIR honoured
#   make uninstall  remove what make install put in place (never /etc/mamori/mamori.conf)

SHELL := /bin/bash
BUILD ?= build
ASAN_BUILD ?= build-asan
DEMO ?= demo
PREFIX ?= /usr

# Debian 12 packages the build, the tests and the demo need.
# (openssh-server, sshfs: tests/crash/cycle-netns.sh runs its own sshd in a namespace; Debian
# starts the system's ssh service on install where systemd runs: `systemctl disable --now ssh`.)
# (libcurl4-openssl-dev: the S3 backend; ceph-mon ceph-osd radosgw ceph-common: the real Ceph RGW
# the s3 suite starts in the build tree, tests/s3/rgw.sh; with no cluster in /etc/ceph they run nothing.)
DEB_PACKAGES := gcc make pkg-config meson ninja-build python3 clang clang-format \
	libcmocka-dev libjansson-dev libjpeg62-turbo-dev libsqlite3-dev libsodium-dev libzstd-dev \
	libmicrohttpd-dev libinih-dev strace chromium fonts-noto-cjk poppler-utils \
	exfatprogs exfat-fuse openssh-client openssh-server sshfs \
	libcurl4-openssl-dev ceph-mon ceph-osd radosgw ceph-common openssl

# Debian 12 packages the Windows build needs (make windows; make test runs it when mingw-w64 and
# Wine are there, so `make deps` installs them too): the cross compilers (posix threads), Wine,
# and what tools/windows/deps.sh builds Debian's source packages with.
WIN_PACKAGES := gcc-mingw-w64-x86-64-posix binutils-mingw-w64-x86-64 mingw-w64-x86-64-dev \
	wine wine64 dpkg-dev xz-utils tcl autoconf automake libtool cmake make pkg-config
DEB_PACKAGES := $(DEB_PACKAGES) $(filter-out $(DEB_PACKAGES),$(WIN_PACKAGES))

# Debian 12 packages `make bench` needs on top of those (bench/vs-peers.sh compares with them).
BENCH_PACKAGES := restic borgbackup time gnuplot-nox

SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
SOURCES = $(shell git ls-files -co --exclude-standard -- '*.c' '*.h' 2>/dev/null | grep -v '^$(BUILD)\|^build-' )

.PHONY: all deps deps-apt build test test-gcc test-asan format format-check demo demo-view bench fuzz \
	clean install uninstall install-check-build install-check-prefix windows windows-deps clean-windows

all: build

deps: deps-apt
	@# the browser tests: Node.js and npm (Debian's, unless a Node.js is there already), then
	@# playwright-core from the npm registry at the version package-lock.json pins (it drives
	@# Debian's Chromium; no browser is downloaded)
	@if ! command -v npm >/dev/null 2>&1; then \
	  echo "make deps: installing nodejs npm"; \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nodejs npm; \
	fi
	@if [ ! -f tests/browser/node_modules/playwright-core/package.json ]; then \
	  echo "make deps: npm ci (tests/browser)"; \
	  cd tests/browser && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error; \
	fi
	@# the FHIR export tests: the npm packages fhir (R4 structure definitions) and fhirpath, at
	@# the versions tests/fhir/package-lock.json pins
	@if [ ! -f tests/fhir/node_modules/fhir/package.json ] || [ ! -f tests/fhir/node_modules/fhirpath/package.json ]; then \
	  echo "make deps: npm ci (tests/fhir)"; \
	  cd tests/fhir && npm ci --no-audit --no-fund --loglevel=error; \
	fi

deps-apt:
	@missing=""; for p in $(DEB_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "make deps: installing$$missing"; \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi

$(BUILD)/build.ninja:
	meson setup $(BUILD) --buildtype=debugoptimized --prefix=$(PREFIX)

build: deps $(BUILD)/build.ninja
	ninja -C $(BUILD)

format:
	clang-format -i $(SOURCES)

format-check:
	@clang-format --dry-run --Werror $(SOURCES) && echo "format: ok"

$(ASAN_BUILD)/build.ninja:
	meson setup $(ASAN_BUILD) --buildtype=debug -Db_sanitize=address,undefined -Db_lundef=false

test: deps
	@rc=0; rm -f .test-format.json; \
	if $(MAKE) --no-print-directory format-check; then echo '{"name":"clang-format","result":"OK"}' > .test-format.json; \
	else echo '{"name":"clang-format","result":"FAIL"}' > .test-format.json; rc=1; fi; \
	if command -v $(WIN_CC) >/dev/null 2>&1 && command -v wine >/dev/null 2>&1; then \
	  if $(MAKE) --no-print-directory windows; then echo '{"name":"make windows","result":"OK"}' >> .test-format.json; \
	  else echo '{"name":"make windows","result":"FAIL"}' >> .test-format.json; rc=1; fi; \
	fi; \
	$(MAKE) --no-print-directory test-gcc || rc=1; \
	$(MAKE) --no-print-directory test-asan || rc=1; \
	python3 tools/test-summary.py .test-format.json $(BUILD)/meson-logs/testlog.json $(ASAN_BUILD)/meson-logs/testlog.json || rc=1; \
	rm -f .test-format.json; exit $$rc

test-gcc: $(BUILD)/build.ninja
	rm -f $(BUILD)/meson-logs/testlog.json
	ninja -C $(BUILD)
	meson test -C $(BUILD) --print-errorlogs --num-processes 2

test-asan: $(ASAN_BUILD)/build.ninja
	rm -f $(ASAN_BUILD)/meson-logs/testlog.json
	ninja -C $(ASAN_BUILD)
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	meson test -C $(ASAN_BUILD) --print-errorlogs --num-processes 2 --timeout-multiplier 3 \
	  --no-suite browser --no-suite fhir --no-suite windows --no-suite s3

DEMO_PASSPHRASE ?= mamori-demo-passphrase

demo: build
	@rm -rf $(DEMO)/media $(DEMO)/mnt $(DEMO)/state $(DEMO)/staging $(DEMO)/cycle-audit
	@rm -rf $(DEMO)/storage $(DEMO)/truth.json $(DEMO)/index.db $(DEMO)/repo $(DEMO)/restore $(DEMO)/cache $(DEMO)/audit-host $(DEMO)/ward.html
	$(BUILD)/tools/gen/mamori-gen --out $(DEMO)/storage --patients 200 --days 365 --extended --truth $(DEMO)/truth.json
	$(BUILD)/src/cli/mamori scan --storage $(DEMO)/storage/standard
	$(BUILD)/src/cli/mamori index --storage $(DEMO)/storage/standard --extended $(DEMO)/storage/extended --out $(DEMO)/index.db
	@pid=$$(ls $(DEMO)/storage/standard/*/*/ | grep -v : | grep . | head -n 1); \
	kana=$$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["patients"][0]["patient"]["kana"].split()[0])' $(DEMO)/truth.json); \
	echo; echo "== mamori search $$kana --index $(DEMO)/index.db"; \
	$(BUILD)/src/cli/mamori search "$$kana" --index $(DEMO)/index.db; \
	echo; echo "== mamori show $$pid --storage $(DEMO)/storage/standard --extended $(DEMO)/storage/extended"; \
	$(BUILD)/src/cli/mamori show "$$pid" --storage $(DEMO)/storage/standard --extended $(DEMO)/storage/extended
	@echo; echo "== mamori init / backup / generations / restore --patient / verify --read-data / audit ($(DEMO)/repo)"
	@export MAMORI_PASSPHRASE=$(DEMO_PASSPHRASE) XDG_CACHE_HOME=$(abspath $(DEMO))/cache \
	  MAMORI_AUDIT_DIR=$(abspath $(DEMO))/audit-host; \
	pid=$$(ls $(DEMO)/storage/standard/*/*/ | grep -v : | grep . | head -n 1); \
	$(BUILD)/src/cli/mamori init --repo $(DEMO)/repo --user it-admin && \
	$(BUILD)/src/cli/mamori backup --repo $(DEMO)/repo --name demo $(DEMO)/storage && \
	$(BUILD)/tools/gen/mamori-gen advance --out $(DEMO)/storage --days 1 --truth $(DEMO)/truth.json && \
	$(BUILD)/src/cli/mamori backup --repo $(DEMO)/repo --name demo-day2 $(DEMO)/storage && \
	$(BUILD)/src/cli/mamori generations --repo $(DEMO)/repo && \
	$(BUILD)/src/cli/mamori restore --repo $(DEMO)/repo latest --to $(DEMO)/restore --patient "$$pid" && \
	$(BUILD)/src/cli/mamori verify --repo $(DEMO)/repo --read-data && \
	echo && echo "== mamori show $$pid --repo $(DEMO)/repo (the newest generation's index, decrypted in memory)" && \
	$(BUILD)/src/cli/mamori show "$$pid" --repo $(DEMO)/repo && \
	ward=$$(python3 tools/demo-ward.py $(DEMO)/truth.json) && \
	echo && echo "== mamori print --repo $(DEMO)/repo --ward $$ward --out $(DEMO)/ward.html" && \
	$(BUILD)/src/cli/mamori print --repo $(DEMO)/repo --ward "$$ward" --out $(DEMO)/ward.html && \
	$(BUILD)/src/cli/mamori audit show --repo $(DEMO)/repo && \
	$(BUILD)/src/cli/mamori audit verify --repo $(DEMO)/repo
	@echo; echo "== the daily cycle: media set, configuration, mamori run ($(DEMO)/mamori.conf)"
	tools/demo-cycle.sh $(BUILD)/src/cli/mamori $(DEMO) $(DEMO_PASSPHRASE)
	@echo
	@echo "デモ用の病院ストレージ / demo hospital storage: $(DEMO)/storage (standard/, extended/)"
	@echo "患者索引 / patient index: $(DEMO)/index.db   正解データ / ground truth: $(DEMO)/truth.json"
	@echo "暗号化リポジトリ / encrypted repository: $(DEMO)/repo (パスフレーズ / passphrase: $(DEMO_PASSPHRASE))"
	@echo "患者 1 人の復元 / one patient restored: $(DEMO)/restore"
	@echo "監査ログ / audit log: $(DEMO)/repo/audit (媒体 / medium), $(DEMO)/audit-host (この PC / this host)"
	@echo "印刷用サマリ / printable ward summaries: $(DEMO)/ward.html"
	@echo "ビューア（リポジトリ）/ viewer of the repository: MAMORI_AUDIT_DIR=$(DEMO)/audit-host $(DEMO)/repo/mamori-view.sh"
	@echo "ビューア（今日の媒体）/ viewer from today's medium: make demo-view   (パスフレーズ / passphrase: $(DEMO_PASSPHRASE), Ctrl+C で終了 / to stop)"

# The viewer from the medium today's demo cycle wrote (its own bin/mamori, via mamori-view.sh).
demo-view:
	@today=$$(sed -n 's/.*"medium":"\([A-Za-z0-9_-]*\)".*/\1/p' $(DEMO)/state/windows.jsonl 2>/dev/null | tail -n 1); \
	if [ -z "$$today" ] || [ ! -x $(DEMO)/media/$$today/mamori-view.sh ]; then echo "make demo-view: run make demo first" >&2; exit 1; fi; \
	echo "媒体 / medium $$today: $(DEMO)/media/$$today/mamori-view.sh"; \
	MAMORI_AUDIT_DIR=$(abspath $(DEMO))/cycle-audit $(DEMO)/media/$$today/mamori-view.sh

.PHONY: bench-deps
bench-deps:
	@$(MAKE) --no-print-directory deps DEB_PACKAGES="$(BENCH_PACKAGES)"

bench: build bench-deps
	bench/run.sh $(BUILD)

fuzz: deps
	[ -f build-fuzz/build.ninja ] || CC=clang meson setup build-fuzz -Dfuzzing=true -Dtests=false \
	  -Db_sanitize=address,undefined -Db_lundef=false
	ninja -C build-fuzz

# make install never compiles: build first, as yourself (`make`), then `sudo make install` (or
# `make install DESTDIR=/tmp/stage`). A build folder that is missing, out of date or set up for
# another prefix is refused, so root never writes compiler output into the source tree. Meson
# installs what etc/meson.build lists (docs/operations.md §9); the only file it writes into the
# build folder, its install log, is handed back to the folder's owner.
install-check-build:
	@if [ ! -f $(BUILD)/build.ninja ]; then \
	  echo "make install: $(BUILD)/ がありません。先に make を（root ではなく自分で）実行してください / no build in $(BUILD)/: run make first, as yourself" >&2; \
	  exit 1; fi
	@if ! ninja -C $(BUILD) -n 2>&1 | grep -q 'no work to do'; then \
	  echo "make install: $(BUILD)/ が古いままです。先に make を（root ではなく自分で）実行してください / $(BUILD)/ is out of date: run make first, as yourself" >&2; \
	  exit 1; fi

install-check-prefix:
	@if [ ! -f $(BUILD)/build.ninja ]; then echo "make: no build in $(BUILD)/" >&2; exit 1; fi
	@p=$$(meson introspect $(BUILD) --buildoptions | \
	  python3 -c 'import json,sys; print(next(o["value"] for o in json.load(sys.stdin) if o["name"] == "prefix"))'); \
	if [ "$$p" != "$(PREFIX)" ]; then \
	  echo "make: $(BUILD)/ は prefix $$p で構成されています / $(BUILD)/ is set up for prefix $$p, not $(PREFIX): meson configure $(BUILD) --prefix=$(PREFIX) && make, or PREFIX=$$p" >&2; \
	  exit 1; fi

install: install-check-build install-check-prefix
	meson install -C $(BUILD) --no-rebuild $(if $(DESTDIR),--destdir "$(DESTDIR)")
	@chown --reference=$(BUILD) $(BUILD)/meson-logs/install-log.txt 2>/dev/null || true
	@if [ -z "$(DESTDIR)" ]; then \
	  echo "次に / next: systemctl daemon-reload; docs/operations.md §9 ($(PREFIX)/share/doc/mamori/operations.md)"; fi

uninstall: install-check-prefix
	python3 tools/uninstall.py $(BUILD) "$(DESTDIR)"

# The Windows viewer (docs/windows.md): the libraries its side links, built once for Windows
# from Debian's own source packages (tools/windows/deps.sh; deb-src entries enabled when
# missing), a meson cross build of the viewer-side commands, and the one stripped static exe
# with its SHA-256 (hospitals that allow only listed programs on USB media ask for it).
WIN_OUT := build-windows
WIN_MESON := $(WIN_OUT)/meson
WIN_CC := x86_64-w64-mingw32-gcc-posix
WINDEPS := $(abspath $(or $(MM_WINDEPS),$(WIN_OUT)/deps))

windows-deps:
	@$(MAKE) --no-print-directory deps-apt DEB_PACKAGES="$(WIN_PACKAGES)"

windows: windows-deps
	MM_WINDEPS=$(WINDEPS) tools/windows/deps.sh
	@# (set up again only when the cross file changed: another deps cache, other tools)
	@if [ -f $(WIN_MESON)/build.ninja ] && cmp -s $(WINDEPS)/mingw64.cross $(WIN_MESON)/mamori-cross.txt; then :; \
	elif [ -f $(WIN_MESON)/build.ninja ]; then \
	  meson setup --wipe $(WIN_MESON) --cross-file $(WINDEPS)/mingw64.cross --buildtype=release && \
	  cp $(WINDEPS)/mingw64.cross $(WIN_MESON)/mamori-cross.txt; \
	else \
	  rm -rf $(WIN_MESON) && \
	  meson setup $(WIN_MESON) --cross-file $(WINDEPS)/mingw64.cross --buildtype=release && \
	  cp $(WINDEPS)/mingw64.cross $(WIN_MESON)/mamori-cross.txt; \
	fi
	ninja -C $(WIN_MESON) $(WIN_NINJA_FLAGS)
	@# (stripped by the linker: strip(1) would give the PE file a time stamp)
	cp $(WIN_MESON)/src/cli/mamori.exe $(WIN_OUT)/mamori.exe.tmp
	mv $(WIN_OUT)/mamori.exe.tmp $(WIN_OUT)/mamori.exe
	cd $(WIN_OUT) && sha256sum mamori.exe > SHA256SUMS.txt.tmp && mv SHA256SUMS.txt.tmp SHA256SUMS.txt
	@cat $(WIN_OUT)/SHA256SUMS.txt
	@# (the Linux build installs build-windows/mamori.exe only when it was there at setup time)
	@[ ! -f $(BUILD)/build.ninja ] || meson setup --reconfigure $(BUILD) >/dev/null
	@echo "Windows 版 / Windows build: $(WIN_OUT)/mamori.exe（mamori run が媒体ごとに書き込みます / mamori run writes it onto every medium)"

# make clean keeps the Windows libraries (minutes to build); make clean-windows removes them too
# (a cache given by MM_WINDEPS outside build-windows/ is never removed)
clean-windows:
	rm -rf $(WIN_OUT)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) build-fuzz $(WIN_MESON)
