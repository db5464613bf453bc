# Integration Hub. `make run` starts the hub locally; `make test` installs
# what the tests need and runs them. See README.md.
SHELL := /bin/bash
GO ?= go
GOFMT ?= $(shell $(GO) env GOROOT)/bin/gofmt
HUB_ADDR ?= 127.0.0.1:8080
export HUB_ADDR

EMULATORS := infra/emulators
EMULATORS_STAMP := $(EMULATORS)/node_modules/.installed
BROWSER := infra/browser
BROWSER_STAMP := $(BROWSER)/node_modules/.installed
FUNCTIONS := $(sort $(notdir $(wildcard functions/*)))
TEST_TIMEOUT ?= 12m

.PHONY: run run-emulated test vet race build invoke emulators browser tools bench load fuzz clean

## run: the whole hub on $(HUB_ADDR), embedded table, email to .data/outbox
run:
	$(GO) run ./infra/local

## run-emulated: the same on DynamoDB Local and the SES emulator, started for you
run-emulated: emulators
	$(GO) run ./infra/local -emulators

## test: install DynamoDB Local, the SES emulator, the test browser, curl and jq; check formatting, vet, run every test
test: emulators browser tools
	@unformatted=$$($(GOFMT) -l $$(find . -name '*.go' -not -path '*/node_modules/*' -not -path './build/*' -not -path './.data/*')) || exit 1; if [ -n "$$unformatted" ]; then echo "gofmt would change:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(GO) test -count=1 -timeout $(TEST_TIMEOUT) ./...

vet:
	$(GO) vet ./...

## race: every test under the race detector (about twice make test's time; not in CI)
race: emulators browser tools
	$(GO) test -race -count=1 -timeout 30m ./...

## emulators: DynamoDB Local (on Java 17) and the SES emulator, from the lock file
emulators: $(EMULATORS_STAMP)

$(EMULATORS_STAMP): $(EMULATORS)/package.json $(EMULATORS)/package-lock.json
	@command -v java >/dev/null || { apt-get update -qq && apt-get install -y -qq --no-install-recommends openjdk-17-jre-headless; }
	@command -v node >/dev/null || { apt-get update -qq && apt-get install -y -qq --no-install-recommends nodejs npm; }
	cd $(EMULATORS) && npm ci --no-audit --no-fund
	@touch $@

## browser: Debian's Chromium and playwright-core (from the lock file) for the marketplace page's browser test
browser: $(BROWSER_STAMP)
	@test -x /usr/bin/chromium || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium; }

$(BROWSER_STAMP): $(BROWSER)/package.json $(BROWSER)/package-lock.json
	@command -v node >/dev/null || { apt-get update -qq && apt-get install -y -qq --no-install-recommends nodejs npm; }
	cd $(BROWSER) && npm ci --no-audit --no-fund
	@touch $@

## tools: curl and jq, for the test that runs the README's curl walkthrough
tools:
	@command -v curl >/dev/null && command -v jq >/dev/null || { apt-get update -qq && apt-get install -y -qq --no-install-recommends curl jq; }

## build: every function as build/<name>/bootstrap for linux/arm64
build:
	@rm -rf build/*/bootstrap
	@for f in $(FUNCTIONS); do \
	  CGO_ENABLED=0 GOOS=linux GOARCH=arm64 $(GO) build -tags lambda.norpc -trimpath -ldflags "-s -w" \
	    -o build/$$f/bootstrap ./functions/$$f || exit 1; \
	done
	@for f in $(FUNCTIONS); do printf '%-16s %6d KiB\n' $$f $$(( $$(stat -c %s build/$$f/bootstrap) / 1024 )); done

## invoke: run functions/$(FN)'s compiled bootstrap under a local Lambda Runtime API with $(EVENT)
invoke:
	@test -n "$(FN)" -a -n "$(EVENT)" || { echo "usage: make invoke FN=<function> EVENT=<events/...json>"; exit 2; }
	$(GO) run ./infra/invoke -fn $(FN) -event $(EVENT)

## bench: the benchmarks and their report (build/bench/results.md and .json, and README.md), baselines measured in the same run; compared with the previous run (build/bench/compare.md)
bench: emulators
	@mkdir -p build/bench; if [ -f build/bench/results.json ]; then cp build/bench/results.json build/bench/previous.json; fi
	$(GO) run ./infra/bench -out build/bench -readme README.md $$(test -f build/bench/previous.json && echo -previous build/bench/previous.json)

## load: 100 clients for 60 s against the local stack on DynamoDB Local (loopback only); zero 5xx, every acknowledged write found (summary in README.md)
load: emulators
	$(GO) run ./infra/load -clients 100 -duration 60s -json build/load/results.json -readme README.md

FUZZTIME ?= 20s
## fuzz: every fuzz target for $(FUZZTIME) each (make test runs their seed corpora)
fuzz:
	@set -e; for pkg in $$($(GO) list ./...); do \
	  for target in $$($(GO) test -list '^Fuzz' $$pkg 2>/dev/null | grep '^Fuzz'); do \
	    echo "== $$pkg $$target"; \
	    $(GO) test -run '^$$' -fuzz "^$$target$$" -fuzztime $(FUZZTIME) $$pkg; \
	  done; \
	done

clean:
	rm -rf build .data
