# patchgate build. `make run` and `make test` do all set-up on a fresh Debian/Ubuntu machine.
GO       ?= go
BIN      := bin
PKGS     := ./...
# Debian packages the build and the tests need: cgo (SQLite, Fyne), the X11/GL headers for the
# desktop app (the CLI builds without them), mbpoll, the third-party Modbus master the
# interoperability test drives, and Xvfb, so `make run` opens the app on a machine without a
# display. postgresql provides the server binaries `make test-pg` starts a throwaway
# register server with (scripts/pg/throwaway.sh; it never uses the system's cluster). Node.js and npm (for `make interop` and `make thirdparty`) come from Debian only
# where no node is installed: a newer one (NodeSource's) is kept.
APT_PKGS := gcc pkg-config libgl1-mesa-dev libx11-dev libxcursor-dev libxrandr-dev \
            libxinerama-dev libxi-dev libxxf86vm-dev mbpoll xvfb postgresql
FUZZTIME ?= 10s
export CGO_ENABLED := 1

.PHONY: all deps build run test bench fuzz fmt lint clean interop realtime thirdparty thirdparty-deps thirdparty-study

all: build

# deps installs only what is missing, as root or through sudo; elsewhere it says what to install.
deps:
	@missing=""; \
	if command -v dpkg-query >/dev/null 2>&1; then \
	  for p in $(APT_PKGS); do \
	    dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	  done; \
	  command -v node >/dev/null || missing="$$missing nodejs"; \
	  command -v npm >/dev/null || missing="$$missing npm"; \
	  if [ -n "$$missing" ]; then \
	    if [ "$$(id -u)" = 0 ]; then SUDO=""; elif command -v sudo >/dev/null; then SUDO=sudo; else \
	      echo "missing packages:$$missing; install them as root: apt-get install$$missing"; exit 1; fi; \
	    echo "installing:$$missing"; \
	    $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	  fi; \
	else \
	  echo "not a Debian/Ubuntu machine: install a C compiler, pkg-config, the OpenGL and X11 development headers (see https://docs.fyne.io/started/), mbpoll, and Node.js 18 or later with npm"; \
	fi
	@$(GO) mod download

# The desktop app (Fyne). FyneApp.toml migrates to fyne.Do ([Migrations] fyneDo = true);
# `go build` does not read it, so the matching tag is passed by hand, as `fyne build` would.
FYNE_TAGS := migrated_fynedo
SCREENSHOTS := docs/screenshots

build:
	$(GO) build -o $(BIN)/patchgate ./app/cmd/patchgate
	$(GO) build -tags $(FYNE_TAGS) -o $(BIN)/patchgate-desktop ./app/cmd/patchgate-desktop

# run opens the desktop app on the embedded workspace (two simulated tanks, the shipped
# scenarios, a demo patch); with no display it runs under Xvfb. `make demo` is the headless
# CLI equivalent.
run: deps build
	@if [ -n "$$DISPLAY$$WAYLAND_DISPLAY" ]; then $(BIN)/patchgate-desktop; \
	elif command -v xvfb-run >/dev/null; then echo "no display: running under Xvfb (make demo for the CLI)"; xvfb-run -a -s "-screen 0 1280x800x24" $(BIN)/patchgate-desktop; \
	else $(BIN)/patchgate demo; fi

demo: deps
	$(GO) build -o $(BIN)/patchgate ./app/cmd/patchgate
	$(BIN)/patchgate demo

# The race detector slows the simulated controllers too much to keep real time, so the tests
# that drive firmware profiles over the protocols in real time run again, alone, without it
# (under -race they skip themselves).
# The race run has a throwaway PostgreSQL server (scripts/pg/throwaway.sh: 127.0.0.1, a free
# port, removed afterwards), so the register's tests run on both stores, SQLite and
# PostgreSQL (the eight writer processes for 3 s; make test-pg runs the
# register's tests alone; PG_WRITE_FOR=60s is the issue's check).
test: deps
	$(GO) vet -tags $(FYNE_TAGS) $(PKGS)
	scripts/pg/throwaway.sh $(GO) test -race -tags $(FYNE_TAGS) -timeout 30m $(PKGS)
	$(MAKE) realtime
	$(MAKE) interop

# realtime: the real-time checks, once and without -race, each group on its own: a harness
# made late by a busy machine leaves gaps (INCONCLUSIVE by design) and, worse, its late writes
# move the simulated plant. Side by side they took 9 minutes instead of 13, but one run in two
# failed that way (docs/benchmarks.md), so they run one group after the other:
# - the stations' posture on the wire (a station a profile, each making its certificate);
# - the restart tests, together (about 20 s; their windows are 200 ms);
# - every profile and shipped scenario over both protocols: 72 simulated controllers;
# - the restart dialog; the CLI's real-time validations, one test at a time, two validations
#   at a time within each; the third-party PLC (make thirdparty).
realtime: deps thirdparty-deps
	$(GO) test -count=1 -timeout 10m -run 'TestPostureOnTheWireIsTheSimView' ./simulators/station/
	$(GO) test -count=1 -timeout 10m -run 'TestRestart(Prompt|Command|WithoutOperator|NeverBack)' ./app/cli/
	$(GO) test -count=1 -timeout 15m -run 'TestEveryProfileOverBothProtocols|TestShippedScenariosOverBothProtocols' ./harness/runner/
	$(GO) test -count=1 -timeout 10m -tags $(FYNE_TAGS) -run 'TestRestartDialog$$' ./app/gui/
	$(GO) test -count=1 -parallel 1 -timeout 15m -run 'TestStudyAgreesInRealTime|TestBenchesWeDidNotBuildInRealTime' ./app/cli/
	$(MAKE) thirdparty

# interop: node-opcua, an independent OPC UA stack, browses and reads a simulator (needs node
# and npm, which reach the npm registry; skipped with a message where they are missing).
INTEROP := .work/interop
interop:
	@if command -v npm >/dev/null && command -v node >/dev/null; then \
	  mkdir -p $(INTEROP) && cp fixtures/interop/package.json fixtures/interop/opcua-browse.js $(INTEROP)/ && \
	  (cd $(INTEROP) && npm install --no-audit --no-fund --silent >/dev/null) && \
	  PATCHGATE_NODE_OPCUA=$(CURDIR)/$(INTEROP) $(GO) test -count=1 -run TestNodeOPCUABrowsesAndReads ./simulators/opcuaserver/; \
	else echo "interop: node and npm not found; skipping the node-opcua test"; fi

# thirdparty: a tank PLC on protocol stacks we did not write (fixtures/thirdparty/tankplc.js:
# node-opcua and modbus-serial, pinned by its package-lock.json) read by the drivers and
# validated by the CLI in real time over 127.0.0.1. Unlike interop it fails without node and
# npm (make deps installs them): the tests it runs skip only when PATCHGATE_THIRDPARTY is unset.
# One package at a time (-p 1): each PLC takes seconds of CPU to start, and starting them
# while the other package's validations run makes the harness miss sampling slots. -v keeps
# the verdict each validation logs, passed or not.
THIRDPARTY := .work/thirdparty
thirdparty: thirdparty-deps
	PATCHGATE_THIRDPARTY=$(CURDIR)/$(THIRDPARTY) $(GO) test -p 1 -count=1 -v -timeout 15m -run ThirdParty ./fixtures/thirdparty/ ./app/cli/ ./app/gui/workspace/

thirdparty-deps:
	@command -v node >/dev/null && command -v npm >/dev/null || { echo "thirdparty: node and npm not found; make deps installs them"; exit 1; }
	mkdir -p $(THIRDPARTY)
	cp fixtures/thirdparty/package.json fixtures/thirdparty/package-lock.json $(THIRDPARTY)/
	cd $(THIRDPARTY) && npm install --no-audit --no-fund --omit=optional --loglevel=error

# thirdparty-study: the detection study's real-time rows, on the third-party PLC: rounds of its
# validations over both protocols (about 2 minutes a round), tallied into docs/detection.md.
THIRDPARTY_ROUNDS ?= 5
thirdparty-study: thirdparty
	PATCHGATE_THIRDPARTY=$(CURDIR)/$(THIRDPARTY) $(GO) test -count=1 -v -timeout 90m -run TestThirdPartyValidate ./app/cli/ \
	  -args -thirdparty.rounds $(THIRDPARTY_ROUNDS) -thirdparty.detection $(CURDIR)/docs/detection.md

# Benchmarks print their figures; docs/benchmarks.md records them with the machine.
bench: deps
	$(GO) test -run '^$$' -bench . -timeout 60m $(PKGS)

# test-pg runs the register tests on both stores, SQLite and PostgreSQL: a throwaway
# server (scripts/pg/throwaway.sh, 127.0.0.1 on a free port, removed afterwards) serves
# the PostgreSQL side through PATCHGATE_PG. PG_WRITE_FOR is how long each of the eight
# writer processes writes (the issue's check: make test-pg PG_WRITE_FOR=60s).
# bench-pg: register writes per second on both stores, 1 and 8 writers.
PG_WRITE_FOR ?= 3s
.PHONY: test-pg bench-pg
test-pg: deps
	scripts/pg/throwaway.sh sh -c '\
	  $(GO) test -race -count=1 -timeout 30m ./harness/register/pgstore/... -pg.write-for=$(PG_WRITE_FOR) && \
	  $(GO) test -race -count=1 -timeout 20m ./harness/register/ ./harness/ledger/ && \
	  $(GO) test -race -count=1 -timeout 20m -run "TestRegister" ./app/cli/'
bench-pg: deps
	$(GO) test -run '^$$' -bench RegisterWrites -benchtime 2s ./harness/ledger/
	scripts/pg/throwaway.sh $(GO) test -run '^$$' -bench RegisterWrites -benchtime 2s ./harness/register/pgstore/

# A short run of every fuzz target (go test allows one -fuzz target per run).
fuzz: deps
	@for pkg in $$($(GO) list $(PKGS)); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg 2>/dev/null | grep '^Fuzz'); do \
	    echo "fuzz $$pkg $$f"; \
	    $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	  done; \
	done

fmt:
	gofmt -w .

lint:
	@out=$$(gofmt -l .); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)

clean:
	rm -rf $(BIN) $(DIST)

.PHONY: desktop run-desktop test-gui screenshots demo

desktop: deps
	$(GO) build -tags $(FYNE_TAGS) -o $(BIN)/patchgate-desktop ./app/cmd/patchgate-desktop

run-desktop: desktop
	$(BIN)/patchgate-desktop

test-gui: deps
	$(GO) vet -tags $(FYNE_TAGS) ./app/gui/... ./app/cmd/patchgate-desktop
	$(GO) test -race -tags $(FYNE_TAGS) ./app/gui/...

# Packages. The fyne tool (fyne.io/tools, pinned) is installed into bin/tools on first use.
# FyneApp.toml at the top level holds the app's metadata, but `fyne package` reads it only from
# the directory it packages, and the main package is app/cmd/patchgate-desktop; it would also
# bump Build in the file on every run. So the targets pass the metadata from FyneApp.toml on the
# command line, and the committed file stays as it is.
FYNE_TOOL    := $(BIN)/tools/fyne
FYNE_TOOLVER := v1.7.4
DIST         := dist
APP_NAME     := $(shell sed -n 's/^Name *= *"\(.*\)"/\1/p' FyneApp.toml)
APP_ID       := $(shell sed -n 's/^ID *= *"\(.*\)"/\1/p' FyneApp.toml)
APP_VERSION  := $(shell sed -n 's/^Version *= *"\(.*\)"/\1/p' FyneApp.toml)
APP_BUILD    := $(shell sed -n 's/^Build *= *\([0-9]*\)/\1/p' FyneApp.toml)
FYNE_META    := --src app/cmd/patchgate-desktop --icon $(CURDIR)/app/gui/icon.png --name $(APP_NAME) \
                --app-id $(APP_ID) --app-version $(APP_VERSION) --app-build $(APP_BUILD)
MINGW_CC     := x86_64-w64-mingw32-gcc

.PHONY: package package-windows windows-deps test-windows

$(FYNE_TOOL):
	GOBIN=$(CURDIR)/$(BIN)/tools $(GO) install fyne.io/tools/cmd/fyne@$(FYNE_TOOLVER)

# package: a Linux tarball (the binary, a .desktop file and the icon; `make install` inside it
# installs under /usr/local) beside the CLI, in dist/.
package: build $(FYNE_TOOL)
	mkdir -p $(DIST)
	$(FYNE_TOOL) package --os linux --exe $(BIN)/patchgate-desktop $(FYNE_META)
	mv $(APP_NAME).tar.xz $(DIST)/$(APP_NAME)-$(APP_VERSION)-linux-amd64.tar.xz
	cp $(BIN)/patchgate $(DIST)/patchgate-$(APP_VERSION)-linux-amd64
	@ls -l $(DIST)

# What the Windows targets need from Debian: the mingw-w64 cross compiler (cgo: SQLite, GLFW),
# osslsigncode and openssl to sign, and for test-windows Wine (wine64; `wine` is its launcher),
# Xvfb, ImageMagick (import, identify) and xdotool to find the window.
WIN_APT_PKGS := gcc-mingw-w64-x86-64 osslsigncode openssl wine wine64 xvfb imagemagick xdotool
windows-deps:
	@missing=""; \
	if command -v dpkg-query >/dev/null 2>&1; then \
	  for p in $(WIN_APT_PKGS); do \
	    dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	  done; \
	  if [ -n "$$missing" ]; then \
	    if [ "$$(id -u)" = 0 ]; then SUDO=""; elif command -v sudo >/dev/null; then SUDO=sudo; else \
	      echo "missing packages:$$missing; install them as root: apt-get install$$missing"; exit 1; fi; \
	    echo "installing:$$missing"; \
	    $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	  fi; \
	else \
	  echo "not a Debian/Ubuntu machine: install mingw-w64, osslsigncode, openssl, wine (64-bit), Xvfb, ImageMagick and xdotool"; \
	fi

# package-windows cross-builds the Windows desktop app (icon and version resource embedded by
# fyne) and the CLI with mingw-w64; no Windows machine needed. Bench laptops are often Windows.
# Both .exe files are then signed (Authenticode, scripts/windows/sign.sh): with a real
# code-signing certificate given by WINDOWS_SIGN_PFX (+ WINDOWS_SIGN_PASS_FILE) or
# WINDOWS_SIGN_CERT + WINDOWS_SIGN_KEY, and WINDOWS_SIGN_TIMESTAMP (an RFC 3161 URL); without
# one, with a self-signed test certificate made in $(WIN_WORK)/sign, which Windows does not trust.
WIN_WORK    := .work/windows
WIN_CLI     := $(DIST)/patchgate-$(APP_VERSION)-windows-amd64.exe
WIN_DESKTOP := $(DIST)/$(APP_NAME)-desktop-$(APP_VERSION)-windows-amd64.exe
package-windows: deps windows-deps $(FYNE_TOOL)
	mkdir -p $(DIST)
	CC=$(MINGW_CC) $(FYNE_TOOL) package --os windows --tags $(FYNE_TAGS) $(FYNE_META)
	mv app/cmd/patchgate-desktop/$(APP_NAME).exe $(WIN_DESKTOP)
	CC=$(MINGW_CC) GOOS=windows GOARCH=amd64 $(GO) build -o $(WIN_CLI) ./app/cmd/patchgate
	WINDOWS_SIGN_DIR=$(WIN_WORK)/sign scripts/windows/sign.sh $(WIN_DESKTOP) $(WIN_CLI)
	@ls -l $(DIST)

# test-windows runs what package-windows built under Wine and Xvfb (scripts/windows/test-windows.sh):
# the signatures, the CLI (version, validate with a bundle, verify) and the desktop window,
# whose screenshot goes to docs/screenshots/windows-wine.png. Not part of `make test`: a cold
# Wine prefix and the cross-builds take minutes. The signatures are checked against the test
# certificate, or WINDOWS_SIGN_CAFILE when a real one signed.
WINDOWS_SIGN_CAFILE ?= $(if $(WINDOWS_SIGN_PFX)$(WINDOWS_SIGN_CERT),/etc/ssl/certs/ca-certificates.crt,$(CURDIR)/$(WIN_WORK)/sign/test-cert.pem)
test-windows: package-windows
	WINDOWS_TEST_DIR=$(CURDIR)/$(WIN_WORK) WINDOWS_SIGN_CAFILE=$(WINDOWS_SIGN_CAFILE) \
	  scripts/windows/test-windows.sh $(WIN_CLI) $(WIN_DESKTOP)

# screenshots renders every main screen headlessly (fyne's test driver, no display) to PNG.
screenshots: deps
	mkdir -p $(SCREENSHOTS)
	$(GO) test -count=1 -tags $(FYNE_TAGS) -run '^(TestScreenshots|TestBenchScreenshot|TestBenchDiscover|TestBenchTrustUntrustedServer|TestRestartDialog)$$' ./app/gui -args -screenshots=$(CURDIR)/$(SCREENSHOTS)
