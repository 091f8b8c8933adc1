# Seance for Go — developer commands.
#   make demo   build the example's web bundle and serve the chi-todo example on :4000
#   make contact-form  the tutorial's embeddable form on :4010 (SQLite, or DATABASE_URL)
#   make test   install the pinned JS clients, then vet and run every test with -race
SHELL := /bin/bash
GO ?= go
NPM ?= npm
E2E := e2e
NESTED := $(dir $(wildcard pubsub/*/go.mod)) $(dir $(wildcard observe/*/go.mod)) examples/contact-form/ bench/

.PHONY: all demo contact-form web test test-go test-nested vet npm fuzz bench bench-quick micro clean

all: test

# npm ci only when the lock file changed since the last install.
$(E2E)/node_modules/.installed: $(E2E)/package.json $(E2E)/package-lock.json
	cd $(E2E) && $(NPM) ci --no-audit --no-fund
	touch $@

npm: $(E2E)/node_modules/.installed

ESBUILD := NODE_PATH=$(E2E)/node_modules $(E2E)/node_modules/.bin/esbuild --bundle --format=esm --minify --log-level=warning

# The examples' browser bundles (embedded into the example binaries).
web: npm
	$(ESBUILD) examples/chi-todo/web/todo-app.js examples/chi-todo/web/contact-form.js examples/chi-todo/web/demo-panel.js --outdir=examples/chi-todo/static/dist
	$(ESBUILD) examples/stdlib/web/counter.js examples/stdlib/web/inspector.js examples/stdlib/web/phx-live-state.js --outdir=examples/stdlib/static/dist
	$(ESBUILD) examples/contact-form/web/contact-form.js --outdir=examples/contact-form/static/dist

# Built, then run (not go run, which exits 1 when interrupted): Ctrl-C shuts
# the server down gracefully and make exits 0. Settings pass through as
# variables: make demo ADDR=:8000 EMBED_ADDR=:8001 ALLOWED_ORIGINS=https://a.example
demo: web
	$(GO) build -o bin/chi-todo ./examples/chi-todo
	bin/chi-todo

# A nested module (its database drivers stay out of the core's go.mod).
contact-form: web
	cd examples/contact-form && $(GO) build -o ../../bin/contact-form .
	cd examples/contact-form && ../../bin/contact-form

vet:
	$(GO) vet ./...
	@for d in $(NESTED); do (cd $$d && $(GO) vet ./...) || exit 1; done

test: npm vet test-go test-nested

test-go:
	$(GO) test -race -count=1 -timeout 15m ./...

test-nested:
	@for d in $(NESTED); do echo "== $$d"; (cd $$d && $(GO) test -race -count=1 -timeout 10m ./...) || exit 1; done

# Each target for FUZZTIME (20s); -fuzz needs a pattern matching one target.
FUZZTIME ?= 20s
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzV2Decode$$' -fuzztime $(FUZZTIME) ./phx/
	$(GO) test -run '^$$' -fuzz '^FuzzV2DecodeBinary$$' -fuzztime $(FUZZTIME) ./phx/
	$(GO) test -run '^$$' -fuzz '^FuzzV1Decode$$' -fuzztime $(FUZZTIME) ./phx/
	$(GO) test -run '^$$' -fuzz '^FuzzSessionReceive$$' -fuzztime $(FUZZTIME) ./phx/
	$(GO) test -run '^$$' -fuzz '^FuzzParseParams$$' -fuzztime $(FUZZTIME) ./handler/
	$(GO) test -run '^$$' -fuzz '^FuzzWholeMessage$$' -fuzztime $(FUZZTIME) ./handler/
	$(GO) test -run '^$$' -fuzz '^FuzzTakeFrame$$' -fuzztime $(FUZZTIME) ./handler/
	$(GO) test -run '^$$' -fuzz '^FuzzHotRead$$' -fuzztime $(FUZZTIME) ./handler/
	$(GO) test -run '^$$' -fuzz '^FuzzEachFrame$$' -fuzztime $(FUZZTIME) ./longpoll/
	$(GO) test -run '^$$' -fuzz '^FuzzPostBody$$' -fuzztime $(FUZZTIME) ./longpoll/

# The load harness: every row of BENCHMARKS.md against its baseline in the
# same run; writes BENCHMARKS.md, bench/results/latest.json and bench/charts.
bench:
	cd bench && $(GO) run ./cmd/seance-bench

bench-quick:
	cd bench && $(GO) run ./cmd/seance-bench -quick

# Go micro-benchmarks of the hot paths (compare runs with benchstat).
micro:
	$(GO) test -run '^$$' -bench . -benchmem ./diff/ ./phx/ ./livestate/
	cd bench && $(GO) test -run '^$$' -bench . -benchmem ./micro

clean:
	rm -rf $(E2E)/dist bin examples/*/static/dist
