# Seance for Go — developer commands.
#   make demo   build the example's web bundle and serve the chi-todo example on :4000
#   make test   install the pinned JS clients, then vet and run every test with -race
SHELL := /bin/bash
GO ?= go
NPM ?= npm
E2E := e2e
NESTED := $(dir $(wildcard pubsub/*/go.mod)) $(dir $(wildcard observe/*/go.mod)) bench/

.PHONY: all demo web test test-go test-nested vet npm fuzz bench bench-quick micro clean

all: test

# npm ci only when the lock file changed since the last install.
$(E2E)/node_modules/.installed: $(E2E)/package.json $(E2E)/package-lock.json
	cd $(E2E) && $(NPM) ci --no-audit --no-fund
	touch $@

npm: $(E2E)/node_modules/.installed

ESBUILD := NODE_PATH=$(E2E)/node_modules $(E2E)/node_modules/.bin/esbuild --bundle --format=esm --minify --log-level=warning

# The examples' browser bundles (embedded into the example binaries).
web: npm
	$(ESBUILD) examples/chi-todo/web/todo-app.js examples/chi-todo/web/contact-form.js --outdir=examples/chi-todo/static/dist
	$(ESBUILD) examples/stdlib/web/counter.js examples/stdlib/web/inspector.js --outdir=examples/stdlib/static/dist

demo: web
	$(GO) run ./examples/chi-todo

vet:
	$(GO) vet ./...
	@for d in $(NESTED); do (cd $$d && $(GO) vet ./...) || exit 1; done

test: npm vet test-go test-nested

test-go:
	$(GO) test -race -count=1 -timeout 15m ./...

test-nested:
	@for d in $(NESTED); do echo "== $$d"; (cd $$d && $(GO) test -race -count=1 -timeout 10m ./...) || exit 1; done

fuzz:
	$(GO) test -run '^$$' -fuzz FuzzV2Decode -fuzztime 20s ./phx/
	$(GO) test -run '^$$' -fuzz FuzzSessionReceive -fuzztime 20s ./phx/
	$(GO) test -run '^$$' -fuzz FuzzParseParams -fuzztime 20s ./handler/
	$(GO) test -run '^$$' -fuzz FuzzEachFrame -fuzztime 20s ./longpoll/
	$(GO) test -run '^$$' -fuzz FuzzPostBody -fuzztime 20s ./longpoll/

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
