# BEDROT data lake. `make help` lists the targets.
SHELL := /bin/bash
GO ?= go
BIN := bin
MINIO_VERSION := v0.0.0-20260212201848-7aac2a2c5b7c
CACHE ?= $(HOME)/.cache/bedrot
MINIO_BIN ?= $(CACHE)/bin/minio
export BEDROT_MINIO_BIN := $(MINIO_BIN)
ROWS ?= 5000000
LAKE ?= lake

PLUGINS := $(patsubst plugins/%/,%,$(dir $(wildcard plugins/*/cmd/*/main.go)))

.PHONY: help
help: ## list targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  %-12s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: build
build: ## build bin/bedrot, every plugin bin/bedrot-<kind>-<name>, and the example plugin in bin/examples/
	@mkdir -p $(BIN)/examples
	$(GO) build -o $(BIN)/bedrot ./cmd/bedrot
	@for d in plugins/*/cmd/*/; do name=$$(basename $$d); echo "$(GO) build -o $(BIN)/$$name ./$$d"; $(GO) build -o $(BIN)/$$name ./$$d || exit 1; done
	cd examples/source-releases && GOWORK=off $(GO) build -o ../../$(BIN)/examples/bedrot-source-releases .
	cd examples/agent-trends && GOWORK=off $(GO) build -o ../../$(BIN)/examples/bedrot-agent-trends .
	$(GO) build -o $(BIN)/tools/bedrot-sandbox ./cmd/bedrot-sandbox

.PHONY: demo
demo: build ## ingest DistroKid sample exports, and Spotify and TikTok from local SANDBOX emulators, into ./lake (folder + SQLite), validated against config/suites
	$(BIN)/bedrot init --lake $(LAKE)
	$(BIN)/bedrot plugin install --lake $(LAKE) $(BIN)/bedrot-source-distrokid $(BIN)/bedrot-source-spotify $(BIN)/bedrot-source-tiktok $(BIN)/bedrot-validator-quality-ge
	$(BIN)/bedrot ingest --lake $(LAKE) distrokid examples/distrokid/*.tsv examples/distrokid/*.csv
	@env_file=$$(mktemp -u /tmp/bedrot-sandbox.XXXXXX); \
	$(BIN)/tools/bedrot-sandbox -env $$env_file -s4a-dir plugins/spotify/testdata/s4a & sandbox=$$!; \
	trap "kill $$sandbox 2>/dev/null; rm -f $$env_file" EXIT; \
	for i in $$(seq 100); do [ -f $$env_file ] && break; sleep 0.1; done; \
	. $$env_file; \
	echo; echo "== Spotify and TikTok from SANDBOX emulators (local, generated data; not the real APIs)"; \
	$(BIN)/bedrot run --lake $(LAKE) spotify && $(BIN)/bedrot run --lake $(LAKE) tiktok
	@echo; echo "== every payload was validated against config/suites before it reached raw; a dataset on demand:"
	$(BIN)/bedrot quality run --lake $(LAKE) raw.tiktok.videos
	@echo; $(BIN)/bedrot quality results --lake $(LAKE) -n 8
	@echo; echo "== staging and marts, then SQL over them"
	$(BIN)/bedrot build --lake $(LAKE)
	$(BIN)/bedrot query --lake $(LAKE) 'SELECT store, sum(quantity) AS quantity, round(sum(earnings_usd), 2) AS usd FROM curated.royalties_monthly GROUP BY ALL ORDER BY usd DESC LIMIT 8'
	@echo; echo "== lineage: where the royalties mart comes from (OpenLineage events in the lake)"
	$(BIN)/bedrot lineage --lake $(LAKE) curated.royalties_monthly
	@echo; echo "== AI agents: the example agent summarises a mart; its hand-off to the anomaly agent is queued for bedrot serve"
	$(BIN)/bedrot plugin install --lake $(LAKE) $(BIN)/bedrot-agent-anomaly $(BIN)/examples/bedrot-agent-trends
	$(BIN)/bedrot agents run --lake $(LAKE) trends --param dataset=curated.track_performance
	$(BIN)/bedrot jobs --lake $(LAKE) -n 3
	$(BIN)/bedrot agents ls --lake $(LAKE)
	@echo; echo "== landing (original bytes + _metadata.json)"; $(BIN)/bedrot ls --lake $(LAKE) landing/
	@echo; echo "== raw (typed Parquet, Hive partitions)"; $(BIN)/bedrot ls --lake $(LAKE) raw/
	@echo; $(BIN)/bedrot status --lake $(LAKE)

.PHONY: minio
minio: ## build the pinned MinIO server for the tests (cached in ~/.cache/bedrot/bin)
	@if [ ! -x "$(MINIO_BIN)" ]; then \
		echo "building MinIO $(MINIO_VERSION) (a few minutes, once)"; \
		mkdir -p $(dir $(MINIO_BIN)) && cd /tmp && GOBIN=$(dir $(MINIO_BIN)) $(GO) install github.com/minio/minio@$(MINIO_VERSION); \
	fi

.PHONY: postgres
postgres: ## make sure the local PostgreSQL is up
	@pg_isready -q -h 127.0.0.1 -p 5432 || pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql) main start
	@for i in $$(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && exit 0; sleep 1; done; echo "PostgreSQL did not start" >&2; exit 1

.PHONY: chromium
chromium: ## make sure Debian's chromium is installed (the data docs are checked in a real headless browser)
	@command -v chromium >/dev/null 2>&1 || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) || \
		{ echo "could not install chromium: run 'apt-get install -y chromium' as root" >&2; exit 1; }

.PHONY: promtool
promtool: ## make sure Debian's promtool is installed (deploy/ checks the Prometheus rules, config and a real /metrics scrape with it)
	@command -v promtool >/dev/null 2>&1 || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq prometheus >/dev/null) || \
		{ echo "could not install promtool: run 'apt-get install -y prometheus' as root" >&2; exit 1; }

.PHONY: test
test: minio postgres chromium promtool ## run every test under the race detector: host (PostgreSQL and MinIO included), SDK, example plugin
	$(GO) vet ./... && (cd sdk && $(GO) vet ./...)
	$(GO) test -race -count=1 -timeout 20m ./...
	$(GO) test -count=1 -run 'Parallel|Mutated' ./plugins/distrokid/ # the parser's differential tests in full; under -race they take a sample
	cd sdk && $(GO) test -race -count=1 ./...
	cd examples/source-releases && GOWORK=off $(GO) test -count=1 ./...
	cd examples/agent-trends && GOWORK=off $(GO) test -count=1 ./...

.PHONY: bench
bench: build ## time plugin -> landing -> raw on a generated DistroKid export of ROWS rows (default 5M) vs DuckDB and parquet-go, then its validation through quality-ge
	$(GO) run ./bench/distrokid -rows $(ROWS) -bin $(BIN)

.PHONY: soak
soak: minio postgres ## time-compressed soak of the daemon (issue 6): 3 sources every 2 s with 10% API faults, 2 daemons on PostgreSQL+MinIO, one killed and restarted, one source outage; SOAK_RUNS (default 500) runs, ~10 min
	$(GO) test -tags soak -run '^TestSoak$$' -timeout 60m -count=1 -v ./cmd/bedrot/ 2>&1 | grep -v 'level=' 

.PHONY: bench-go
bench-go: ## Go micro-benchmarks (parser, Parquet writer)
	$(GO) test -run '^$$' -bench . -benchmem ./plugins/... ./host/parquetfile/...

.PHONY: generate
generate: ## regenerate the protocol code from sdk/proto (needs protoc, protoc-gen-go, protoc-gen-go-grpc)
	cd sdk && PATH="$$PATH:$$($(GO) env GOPATH)/bin" $(GO) generate ./...

.PHONY: clean
clean: ## remove bin/ and the demo lake
	rm -rf $(BIN) $(LAKE)
