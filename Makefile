# hdfsha build. Targets are documented in README.md and docs/development.md.
SHELL := /bin/bash
GO ?= go
MODULE := github.com/hdfsha/hdfsha
# protoc-gen-go is pinned to the protobuf runtime version in go.mod.
PROTOC_GEN_GO_VERSION := v1.36.12
TOOLS := $(CURDIR)/bin/tools
PROTO_DIRS := $(sort $(dir $(wildcard proto/*/*.proto)))
GO_TEST_FLAGS ?= -race -count=1 -timeout 20m
FUZZTIME ?= 60s

.PHONY: all build test deps lint proto proto-check bench bench-restart bench-data bench-mirror failover-bench fuzz demo clean

all: build

VERSION_PKG := $(MODULE)/internal/version
LDFLAGS := -X $(VERSION_PKG).Revision=$(shell git rev-parse HEAD 2>/dev/null) \
	-X $(VERSION_PKG).BuildUser=$(shell id -un) \
	-X $(VERSION_PKG).BuildDate=$(shell date -u +%Y-%m-%dT%H:%MZ)

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o bin/hdfs ./cmd/hdfs

# test installs what the tests need, checks formatting and generated code, then runs every test.
test: deps lint
	$(GO) test $(GO_TEST_FLAGS) ./...

deps:
	bash scripts/install-test-deps.sh
	$(GO) mod download

lint: proto-check
	@out=$$(gofmt -l $$(git ls-files '*.go' | grep -v '\.pb\.go$$') $$(git ls-files --others --exclude-standard '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	@$(GO) mod tidy -diff >/dev/null || { echo "go.mod/go.sum are not tidy: run 'go mod tidy'"; exit 1; }

$(TOOLS)/protoc-gen-go:
	GOBIN=$(TOOLS) $(GO) install google.golang.org/protobuf/cmd/protoc-gen-go@$(PROTOC_GEN_GO_VERSION)

# proto regenerates every *.pb.go from the .proto files under proto/<pkg>/.
proto: $(TOOLS)/protoc-gen-go
	@command -v protoc >/dev/null || { echo "protoc missing: run 'make deps' (Debian package protobuf-compiler)"; exit 1; }
	PATH=$(TOOLS):$$PATH protoc -I proto --go_out=. --go_opt=module=$(MODULE) $(addsuffix *.proto,$(PROTO_DIRS))

# proto-check fails when the committed generated code is not what 'make proto' produces.
proto-check: $(TOOLS)/protoc-gen-go
	@command -v protoc >/dev/null || { echo "protoc missing: run 'make deps' (Debian package protobuf-compiler)"; exit 1; }
	@tmp=$$(mktemp -d); trap 'rm -rf $$tmp' EXIT; \
	  PATH=$(TOOLS):$$PATH protoc -I proto --go_out=$$tmp --go_opt=module=$(MODULE) $(addsuffix *.proto,$(PROTO_DIRS)) && \
	  for f in $$(cd $$tmp && find . -name '*.pb.go'); do \
	    cmp -s $$tmp/$$f $$f || { echo "generated code out of date: $$f (run 'make proto')"; exit 1; }; \
	  done; \
	  for f in $$(find proto -name '*.pb.go'); do \
	    [ -f $$tmp/$$f ] || { echo "stale generated file without a .proto: $$f"; exit 1; }; \
	  done

# bench runs the Go benchmarks; the figures go into the closing notes.
bench:
	$(GO) test -run '^$$' -bench . -benchtime 2s ./...

# bench-restart measures a NameNode restart on ~1,000,000 inodes (docs/bench.md);
# the first run builds the namespace in /tmp/hdfsha-restart-bench (a few minutes).
bench-restart:
	bash scripts/restart-bench.sh

# bench-data measures `hdfs dfs -put`/`-get` of a SIZE_MB (1024) file at replication 1 and
# 3 on a local cluster, beside dd on the same disk (docs/bench.md).
bench-data:
	bash scripts/data-bench.sh

# bench-mirror measures the metadata mirror's lag (p50, p99) with a file sink while
# 2 x THREADS (16) clients create files and directories for DURATION (25) seconds on a
# local HA cluster (docs/bench.md, docs/mirror.md).
bench-mirror: build
	bash scripts/mirror-bench.sh

# failover-bench measures automatic failover on a local cluster (docs/bench.md): TRIALS
# times (20) kill -9 of the active NameNode; WHOLE_HOST=1 kills its ZKFC too.
failover-bench: build
	bash scripts/failover-bench.sh $(or $(TRIALS),20)

# fuzz runs each fuzz target for FUZZTIME (go test -fuzz takes one target at a time).
fuzz:
	bash scripts/fuzz.sh $(FUZZTIME)

demo: build
	bash scripts/demo.sh

clean:
	rm -rf bin
