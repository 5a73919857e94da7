# MetaStore build and test entry points. GNU make.
#
#   make build      bin/metastore and every other main package under cmd/ (needs only Go)
#   make run        build, then run a single member on 127.0.0.1:2379
#   make test       deps + build + etcdctl, the whole suite under -race, compat-ratchet
#   make fuzz       every Go fuzz target for FUZZTIME each
#   make difftest   randomized differential tests against etcd, long (DIFF_SEEDS, DIFF_OPS)
#   make fault      the long fault run: FAULT_ROUNDS rounds of kills, partitions and
#                   emptied members under load, checked for linearizability
#   make fuzz-live  hostile input against a live member for HOSTILE_DURATION (10m), compared with etcd
#   make soak       a 3-member cluster under mixed load for SOAK_DURATION (30m): nothing lost,
#                   linearizable, flat resource curves (SOAK_OUT/soak.csv, soak.svg)
#   make tools      bin/etcdctl and bin/etcdutl (v3.7.3, from the tools modules)
#   make etcd       bin/etcd (the reference etcd v3.7.3 server)
#   make benchmark  bin/benchmark (etcd's load generator, v3.6.8)
#   make image      an OCI image of bin/metastore (bin/image, bin/metastore-image.tar), no daemon needed
#   make bench      MetaStore against etcd, same load, ratios (BENCH=short|full)
#   make bench-smoke  the bench pipeline with tiny totals (part of make test)
#   make bench-plugins  in-process bbolt vs bbolt and RocksDB plugins, ratios
#   make bench-pause  put latency during defrag and compaction, against etcd (BENCH_ENGINE=bbolt|memory|rocksdb)
#   make compat     etcd's own e2e suite against bin/metastore (docs/compat.md)
#   make compat-ratchet  only the tests in tools/compat/passing.txt; fails if one regresses
#   make pluginapi-oldest-go  pluginapi built and tested with the oldest Go its go.mod names
#   make deps       Debian packages the tests need (APT_PKGS), when missing
#   make console-screenshots  the web console's browser tests, refreshing docs/console/*.png
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
# BENCH_MEMBERS=3 runs 3-member clusters of each server; BENCH_ENGINE=rocksdb
# runs MetaStore on the RocksDB storage plugin.
BENCH         ?= short
BENCH_FLAGS   ?=
BENCH_MEMBERS ?= 1
BENCH_ENGINE  ?= bbolt
# Debian packages the tests need; `make deps` installs the missing ones.
APT_PKGS   ?=
# The RocksDB storage plugin links Debian's librocksdb (7.8.3, which
# grocksdb v1.7.15 matches).
APT_PKGS   += librocksdb-dev
# contrib/mixin's tests run promtool and prometheus (Debian's 2.42).
APT_PKGS   += prometheus
# chromium, driven headless by the web console's browser tests
# (host/console).
APT_PKGS   += chromium

# End-to-end tests (host/hosttest) find the binaries through these.
export METASTORE_BIN := $(BIN)/metastore
export ETCDCTL_BIN   := $(BIN)/etcdctl
export ETCD_BIN      := $(BIN)/etcd
export ETCDUTL_BIN   := $(BIN)/etcdutl
export BENCHMARK_BIN := $(BIN)/benchmark

# The upstream binaries are built in tools/ (and tools/benchmark/), separate
# modules whose dependencies never reach MetaStore's go.mod.
TOOLS_MOD := tools/go.mod tools/go.sum tools/tools.go
BENCH_MOD := tools/benchmark/go.mod tools/benchmark/go.sum tools/benchmark/tools.go
TOOLS_ENV := GOWORK=off

# etcd's own end-to-end suite (go.etcd.io/etcd/tests/v3, package common) runs
# against bin/metastore as a drop-in etcd; see docs/compat.md. It is built in
# tools/compat, a module of its own. $(COMPAT_BIN) is the suite's -bin-dir:
# etcd -> ../metastore, etcdctl -> ../etcdctl, and etcdutl v3.7.3.
COMPAT_MOD     := tools/compat/go.mod tools/compat/go.sum tools/compat/tools.go
COMPAT_BIN     := $(BIN)/compat
COMPAT_RESULTS ?= $(CURDIR)/compat-results
COMPAT_PASSING := tools/compat/passing.txt
# COMPAT_RUN selects top-level tests by regexp, e.g. COMPAT_RUN='^TestKV'.
COMPAT_RUN     ?=
# Each top-level test runs in its own process bounded by COMPAT_TIMEOUT; no
# test starts after COMPAT_BUDGET. E2E_TEST_MINIMAL skips the auto-TLS variants.
COMPAT_TIMEOUT ?= 5m
COMPAT_BUDGET  ?= 45m
COMPAT_MINIMAL ?= true
# EXPECT_DEBUG copies every server and etcdctl output line into the logs.
# The *_BIN variables exported above are not for the suite: etcdctl would
# warn about ETCDCTL_BIN, and the servers would see them as settings.
COMPAT_ENV      = env -u METASTORE_BIN -u ETCDCTL_BIN -u ETCD_BIN -u ETCDUTL_BIN -u BENCHMARK_BIN \
	E2E_TEST_MINIMAL=$(COMPAT_MINIMAL) EXPECT_DEBUG=1
COMPAT_FLAGS    = -go $(GO) -test-bin $(COMPAT_BIN)/common.test -bin-dir $(COMPAT_BIN) \
	-fixtures "$$(cd tools/compat && $(TOOLS_ENV) $(GO) list -m -f '{{.Dir}}' go.etcd.io/etcd/tests/v3)/fixtures" \
	-test-timeout $(COMPAT_TIMEOUT) -budget $(COMPAT_BUDGET)

# The plugin protocols' generated code (pluginapi/*/proto/v1). protoc comes
# from Debian; the Go generators at the versions the checked-in code names.
PROTOC_GEN_GO      := google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.11
PROTOC_GEN_GO_GRPC := google.golang.org/grpc/cmd/protoc-gen-go-grpc@v1.5.1
.PHONY: proto
proto:
	@command -v protoc >/dev/null || { apt-get update -qq && apt-get install -y -qq protobuf-compiler; }
	GOBIN=$(BIN) $(GO) install $(PROTOC_GEN_GO)
	GOBIN=$(BIN) $(GO) install $(PROTOC_GEN_GO_GRPC)
	PATH=$(BIN):$$PATH $(GO) generate ./pluginapi/...

.PHONY: build run test fuzz vet tools etcd benchmark bench bench-smoke deps clean compat compat-grow compat-ratchet compat-bin

# Every main package under cmd/ (cmd/metastore, cmd/metastore-<kind>-<name>,
# ...) is written to bin/<dir name>. The host and the pure-Go plugins build
# without cgo; the plugins in CGO_CMDS (RocksDB) with cgo, against APT_PKGS.
# `make build` and `make run` need only Go: the RocksDB plugin is built when
# librocksdb's headers are installed and skipped, with one line saying so,
# when they are not; `make build-rocksdb` (part of `make test`) installs them
# first and always builds it.
CGO_CMDS := github.com/metastore/metastore/cmd/metastore-storage-rocksdb
ROCKSDB_HEADER := /usr/include/rocksdb/c.h
build:
	@mkdir -p $(BIN)
	CGO_ENABLED=0 $(GO) build -o $(BIN)/ $$($(GO) list ./cmd/... | grep -vxF $(addprefix -e ,$(CGO_CMDS)))
	@if [ -f $(ROCKSDB_HEADER) ]; then \
		echo "CGO_ENABLED=1 $(GO) build -o $(BIN)/ $(CGO_CMDS)"; \
		CGO_ENABLED=1 $(GO) build -o $(BIN)/ $(CGO_CMDS); \
	else \
		echo "make build: skipping bin/metastore-storage-rocksdb: librocksdb-dev is not installed (make build-rocksdb installs it)"; \
	fi
	@test -x $(METASTORE_BIN) || { echo "make build: cmd/metastore produced no $(METASTORE_BIN)" >&2; exit 1; }

.PHONY: build-rocksdb
build-rocksdb: deps
	@mkdir -p $(BIN)
	CGO_ENABLED=1 $(GO) build -o $(BIN)/ $(CGO_CMDS)

run: build
	$(METASTORE_BIN) --name default --data-dir $(DATA_DIR)

tools: $(BIN)/etcdctl $(BIN)/etcdutl
etcd: $(BIN)/etcd
benchmark: $(BIN)/benchmark

$(BIN)/etcdctl: $(TOOLS_MOD)
	@mkdir -p $(BIN)
	cd tools && $(TOOLS_ENV) $(GO) build -mod=readonly -trimpath -o $@ go.etcd.io/etcd/etcdctl/v3

# etcdutl v3.7.3, pinned by the compat module: the e2e tests restore
# exported snapshots into etcd with it.
$(BIN)/etcdutl: $(COMPAT_MOD)
	@mkdir -p $(BIN)
	cd tools/compat && $(TOOLS_ENV) $(GO) build -mod=readonly -trimpath -o $@ go.etcd.io/etcd/etcdutl/v3

$(BIN)/etcd: $(TOOLS_MOD)
	@mkdir -p $(BIN)
	cd tools && $(TOOLS_ENV) $(GO) build -mod=readonly -trimpath -o $@ go.etcd.io/etcd/server/v3

$(BIN)/benchmark: $(BENCH_MOD)
	@mkdir -p $(BIN)
	cd tools/benchmark && $(TOOLS_ENV) $(GO) build -mod=readonly -trimpath -o $@ go.etcd.io/etcd/v3/tools/benchmark

compat-bin: build tools $(COMPAT_BIN)/common.test $(COMPAT_BIN)/etcdutl $(COMPAT_BIN)/compatrun
	ln -sfn ../metastore $(COMPAT_BIN)/etcd
	ln -sfn ../etcdctl $(COMPAT_BIN)/etcdctl

$(COMPAT_BIN)/common.test: $(COMPAT_MOD)
	@mkdir -p $(COMPAT_BIN)
	cd tools/compat && $(TOOLS_ENV) $(GO) test -c -mod=readonly -trimpath -tags e2e -o $@ go.etcd.io/etcd/tests/v3/common

$(COMPAT_BIN)/etcdutl: $(COMPAT_MOD)
	@mkdir -p $(COMPAT_BIN)
	cd tools/compat && $(TOOLS_ENV) $(GO) build -mod=readonly -trimpath -o $@ go.etcd.io/etcd/etcdutl/v3

$(COMPAT_BIN)/compatrun: $(COMPAT_MOD) $(wildcard tools/compat/compatrun/*.go)
	@mkdir -p $(COMPAT_BIN)
	cd tools/compat && $(TOOLS_ENV) $(GO) build -mod=readonly -o $@ ./compatrun

# The whole suite; per-test report in $(COMPAT_RESULTS)/report.txt, logs in
# $(COMPAT_RESULTS)/logs/, and the summary line last on stdout.
compat: compat-bin
	$(COMPAT_ENV) $(COMPAT_BIN)/compatrun $(COMPAT_FLAGS) \
		-out $(COMPAT_RESULTS) -run '$(COMPAT_RUN)' -known $(COMPAT_PASSING)

# As compat, then adds the tests that newly pass to $(COMPAT_PASSING).
compat-grow: compat-bin
	$(COMPAT_ENV) $(COMPAT_BIN)/compatrun $(COMPAT_FLAGS) \
		-out $(COMPAT_RESULTS) -run '$(COMPAT_RUN)' -known $(COMPAT_PASSING) -grow

# Only the tests in $(COMPAT_PASSING); fails if any of them does not pass.
# A top-level test with a failing unit runs once more (COMPAT_RETRIES): some
# of the suite's tests give a whole cluster start 10 s, which a loaded 2-core
# machine can miss; units that pass only on the retry are named on stderr.
COMPAT_RETRIES ?= 1
compat-ratchet: compat-bin
	$(COMPAT_ENV) $(COMPAT_BIN)/compatrun $(COMPAT_FLAGS) \
		-out $(COMPAT_RESULTS)/ratchet -list $(COMPAT_PASSING) -retries $(COMPAT_RETRIES)

# The OCI image, built without a container daemon (tools/image): the
# static bin/metastore as a non-root user, data in /var/lib/metastore,
# etcd's ports. bin/image is an OCI layout, bin/metastore-image.tar loads
# with `docker load` or `podman load`.
IMAGE_TAG ?= metastore:dev
.PHONY: image
$(BIN)/metastore-image: $(TOOLS_MOD) $(wildcard tools/image/*.go)
	@mkdir -p $(BIN)
	cd tools && $(TOOLS_ENV) $(GO) build -mod=readonly -trimpath -o $@ ./image

image: build $(BIN)/metastore-image
	rm -rf $(BIN)/image $(BIN)/metastore-image.tar
	$(BIN)/metastore-image -bin $(METASTORE_BIN) -tag $(IMAGE_TAG) -layout $(BIN)/image -tar $(BIN)/metastore-image.tar

# Our load generator (tools/bench, in the tools module) runs etcd and
# MetaStore side by side; results go to bench-results/<time>.json and .svg.
$(BIN)/metastore-bench: $(TOOLS_MOD) $(wildcard tools/bench/*.go)
	@mkdir -p $(BIN)
	cd tools && $(TOOLS_ENV) $(GO) build -mod=readonly -trimpath -o $@ ./bench

bench: build etcd $(BIN)/metastore-bench
	$(BIN)/metastore-bench -mode $(BENCH) -members $(BENCH_MEMBERS) -engine $(BENCH_ENGINE) -out bench-results $(BENCH_FLAGS)

# The longest pause clients see while a member defragments or compacts:
# put latency during the operation next to before it, on each server.
.PHONY: bench-pause
bench-pause: build etcd $(BIN)/metastore-bench
	$(BIN)/metastore-bench -mode $(BENCH) -members $(BENCH_MEMBERS) -engine $(BENCH_ENGINE) \
		-workloads defrag-pause,compact-pause -out bench-results $(BENCH_FLAGS)

# The cost of a storage engine out of process: the same put and cold-read
# load on bbolt in process, bbolt as a plugin and the RocksDB plugin
# (tools/benchplugins). BENCH_PLUGINS_FLAGS adds flags, e.g. '-keys 50000'.
BENCH_PLUGINS_FLAGS ?=
.PHONY: bench-plugins
$(BIN)/metastore-bench-plugins: $(TOOLS_MOD) $(wildcard tools/benchplugins/*.go)
	@mkdir -p $(BIN)
	cd tools && $(TOOLS_ENV) $(GO) build -mod=readonly -trimpath -o $@ ./benchplugins

bench-plugins: build $(BIN)/metastore-bench-plugins
	$(BIN)/metastore-bench-plugins -bin $(BIN) $(BENCH_PLUGINS_FLAGS)

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

# Modules of their own, tested and vetted beside the main one: pluginapi
# (the plugin contracts and their conformance suites) and the example
# plugins, each built against pluginapi alone.
SUB_MODULES := pluginapi examples/auth-static-token examples/quota-keys-per-prefix examples/storage-file

# The Go suite, then the compat ratchet: every unit of etcd's own e2e suite
# listed in $(COMPAT_PASSING) must still pass.
test: deps build build-rocksdb tools etcd bench-smoke
	$(GO) test $(TEST_FLAGS) $(PKGS)
	for m in $(SUB_MODULES); do (cd $$m && $(GO) test $(TEST_FLAGS) ./...) || exit 1; done
	cd tools && $(TOOLS_ENV) $(GO) test -count=1 ./image/
	$(MAKE) --no-print-directory compat-ratchet

# The web console's browser tests (headless chromium against real members),
# copying the screenshots the README shows into docs/console/.
.PHONY: console-screenshots
console-screenshots: deps build tools
	$(GO) test -count=1 -run 'TestConsole' ./host/console -update-screenshots

vet:
	$(GO) vet $(PKGS)
	for m in $(SUB_MODULES); do (cd $$m && $(GO) vet ./...) || exit 1; done

# pluginapi's go.mod promises Go $(PLUGINAPI_GO); this builds, vets and tests
# it with that release (the go command downloads it through the module proxy).
PLUGINAPI_GO ?= 1.23.12
.PHONY: pluginapi-oldest-go
pluginapi-oldest-go:
	cd pluginapi && GOTOOLCHAIN=go$(PLUGINAPI_GO) $(GO) vet ./... && GOTOOLCHAIN=go$(PLUGINAPI_GO) $(GO) test -count=1 ./...

# The randomized differential tests against etcd 3.7.3 (host/e2e/randdiff_test.go)
# run a few seeds briefly in `make test`; here DIFF_SEEDS (seeds and ranges,
# e.g. 1-20,97) for DIFF_OPS requests each, on one member, three members and
# MetaStore's other engines (DIFF_RUN picks among them). 20 seeds of 20000
# requests take about an hour.
DIFF_SEEDS ?= 1-20
DIFF_OPS   ?= 20000
DIFF_RUN   ?= ^TestDiff(Random|RandomCluster|RandomEngines)$$
.PHONY: difftest
difftest: build tools etcd
	DIFF_SEEDS='$(DIFF_SEEDS)' DIFF_OPS='$(DIFF_OPS)' $(GO) test -count=1 -p 1 -v -timeout 180m \
		-run '$(DIFF_RUN)' ./host/e2e/

# TestFaultsLinearizable runs one round of faults in `make test`; here
# FAULT_ROUNDS rounds (1 to 20) after 20000 preloaded keys. Five rounds
# take about two minutes.
FAULT_ROUNDS ?= 5
.PHONY: fault
fault: build tools
	METASTORE_FAULT_ROUNDS=$(FAULT_ROUNDS) $(GO) test -count=1 -p 1 -v -timeout 10m \
		-run '^TestFaultsLinearizable$$' ./host/e2e/

# The hostile-input run (host/e2e/hostile_*_test.go) runs about 40 s of
# random requests in `make test`; here HOSTILE_DURATION of them, starting
# at seed HOSTILE_SEED, against bin/metastore and the reference etcd.
HOSTILE_DURATION ?= 10m
HOSTILE_SEED     ?= 1
HOSTILE_TIMEOUT  ?= 3h
.PHONY: fuzz-live
fuzz-live: build etcd
	HOSTILE_DURATION=$(HOSTILE_DURATION) HOSTILE_SEED=$(HOSTILE_SEED) $(GO) test -count=1 -p 1 -v \
		-timeout $(HOSTILE_TIMEOUT) -run '^TestHostileInput$$' ./host/e2e/

# The soak (host/e2e/soak_*_test.go): a 3-member cluster under mixed load
# for SOAK_DURATION, then checked; soak.csv and soak.svg go to SOAK_OUT.
# SOAK_TIMEOUT must exceed SOAK_DURATION by the end checks (minutes).
SOAK_DURATION ?= 30m
SOAK_OUT      ?= $(CURDIR)/soak-results
SOAK_TIMEOUT  ?= 3h
.PHONY: soak
soak: build
	SOAK_DURATION=$(SOAK_DURATION) SOAK_OUT=$(SOAK_OUT) $(GO) test -tags soak -count=1 -p 1 -v \
		-timeout $(SOAK_TIMEOUT) -run '^TestSoak$$' ./host/e2e/

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
