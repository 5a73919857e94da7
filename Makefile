# MetaStore build and test entry points. GNU make.
#
#   make build      bin/metastore and every other main package under cmd/
#   make run        build, then run a single member on 127.0.0.1:2379
#   make test       deps + build + etcdctl, then the whole suite under -race
#   make fuzz       every Go fuzz target for FUZZTIME each
#   make tools      bin/etcdctl (etcdctl v3.7.3, from the tools module)
#   make etcd       bin/etcd (the reference etcd v3.7.3 server)
#   make benchmark  bin/benchmark (etcd's load generator, v3.6.8)
#   make bench      MetaStore against etcd, same load, ratios (BENCH=short|full)
#   make bench-smoke  the bench pipeline with tiny totals (part of make test)
#   make deps       Debian packages the tests need (APT_PKGS), when missing
#   make clean

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := build

GO         ?= go
BIN        := $(CURDIR)/bin
DATA_DIR   ?= default.metastore
FUZZTIME   ?= 20s
TEST_FLAGS ?= -race -count=1 -timeout 25m
PKGS       ?= ./...
# `make bench` mode: short (about 5 minutes) or full; BENCH_FLAGS adds flags,
# e.g. BENCH_FLAGS='-workloads put-1c,txn-put -servers metastore'.
BENCH       ?= short
BENCH_FLAGS ?=
# Debian packages the tests need; `make deps` installs the missing ones.
APT_PKGS   ?=

# End-to-end tests (host/hosttest) find the binaries through these.
export METASTORE_BIN := $(BIN)/metastore
export ETCDCTL_BIN   := $(BIN)/etcdctl
export ETCD_BIN      := $(BIN)/etcd
export BENCHMARK_BIN := $(BIN)/benchmark

# The upstream binaries are built in tools/ (and tools/benchmark/), separate
# modules whose dependencies never reach MetaStore's go.mod.
TOOLS_MOD := tools/go.mod tools/go.sum tools/tools.go
BENCH_MOD := tools/benchmark/go.mod tools/benchmark/go.sum tools/benchmark/tools.go
TOOLS_ENV := GOWORK=off

.PHONY: build run test fuzz vet tools etcd benchmark bench bench-smoke deps clean

# Every main package under cmd/ (cmd/metastore, cmd/metastore-<kind>-<name>,
# ...) is written to bin/<dir name>.
build:
	@mkdir -p $(BIN)
	$(GO) build -o $(BIN)/ ./cmd/...
	@test -x $(METASTORE_BIN) || { echo "make build: cmd/metastore produced no $(METASTORE_BIN)" >&2; exit 1; }

run: build
	$(METASTORE_BIN) --name default --data-dir $(DATA_DIR)

tools: $(BIN)/etcdctl
etcd: $(BIN)/etcd
benchmark: $(BIN)/benchmark

$(BIN)/etcdctl: $(TOOLS_MOD)
	@mkdir -p $(BIN)
	cd tools && $(TOOLS_ENV) $(GO) build -mod=readonly -trimpath -o $@ go.etcd.io/etcd/etcdctl/v3

$(BIN)/etcd: $(TOOLS_MOD)
	@mkdir -p $(BIN)
	cd tools && $(TOOLS_ENV) $(GO) build -mod=readonly -trimpath -o $@ go.etcd.io/etcd/server/v3

$(BIN)/benchmark: $(BENCH_MOD)
	@mkdir -p $(BIN)
	cd tools/benchmark && $(TOOLS_ENV) $(GO) build -mod=readonly -trimpath -o $@ go.etcd.io/etcd/v3/tools/benchmark

# Our load generator (tools/bench, in the tools module) runs etcd and
# MetaStore side by side; results go to bench-results/<time>.json and .png.
$(BIN)/metastore-bench: $(TOOLS_MOD) $(wildcard tools/bench/*.go)
	@mkdir -p $(BIN)
	cd tools && $(TOOLS_ENV) $(GO) build -mod=readonly -trimpath -o $@ ./bench

bench: build etcd $(BIN)/metastore-bench
	$(BIN)/metastore-bench -mode $(BENCH) -out bench-results $(BENCH_FLAGS)

bench-smoke: build etcd $(BIN)/metastore-bench
	$(BIN)/metastore-bench -mode smoke -check -out $(BIN)/bench-smoke

deps:
	@missing=""; \
	for p in $(APT_PKGS); do dpkg -s "$$p" >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		sudo=""; [ "$$(id -u)" -eq 0 ] || sudo=sudo; \
		echo "installing:$$missing"; \
		$$sudo apt-get update; \
		$$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $$missing; \
	fi

test: deps build tools etcd bench-smoke
	$(GO) test $(TEST_FLAGS) $(PKGS)

vet:
	$(GO) vet $(PKGS)

# `go test -list` prints a package's matching names, then "ok <pkg> <time>";
# each target is then fuzzed on its own, as -fuzz requires.
fuzz:
	@targets=$$($(GO) test -list '^Fuzz' $(PKGS) | awk '/^Fuzz/ { names = names " " $$1; next } /^ok/ { n = split(names, a, " "); for (i = 1; i <= n; i++) print $$2 "," a[i]; names = "" }'); \
	if [ -z "$$targets" ]; then echo "no fuzz targets"; exit 0; fi; \
	for t in $$targets; do \
		pkg=$${t%,*}; name=$${t#*,}; \
		echo "=== fuzz $$pkg $$name ($(FUZZTIME))"; \
		$(GO) test -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) "$$pkg"; \
	done

clean:
	rm -rf $(BIN)
