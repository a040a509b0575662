# Hexproof build. `make help` lists the targets.
SHELL := /bin/bash
GO ?= go
BIN := $(CURDIR)/bin
BINARIES := chain hotspot router oracle firmware-bridge devnet
# Binaries that run on the gateway: pure Go, no cgo, cross-compiled, built
# without gRPC's tracing (about 2 MB less resident memory).
EDGE_BINARIES := hotspot firmware-bridge
TEST_TIMEOUT ?= 14m
FUZZTIME ?= 3s
LONG_FUZZTIME ?= 60s

BUF_VERSION := v1.75.0
PROTOC_GEN_GO_VERSION := v1.36.12
PROTOC_GEN_GO_GRPC_VERSION := v1.6.2
STATICCHECK_VERSION := v0.8.2
GOLANGCI_LINT_VERSION := v2.15.0

.PHONY: help build test test-go fuzz-short fuzz lint tools proto proto-check bench soak cross devnet clean services

help:
	@echo "make build        all binaries into bin/"
	@echo "make test         the test suite CI runs (proto check, vet, short fuzz, go test)"
	@echo "make lint         go vet, staticcheck, golangci-lint, buf lint"
	@echo "make tools        pinned buf/protoc-gen-go/protoc-gen-go-grpc/staticcheck/golangci-lint into bin/"
	@echo "make proto        regenerate Go from proto/"
	@echo "make bench        benchmarks; figures go to docs/benchmarks.md"
	@echo "make fuzz         long fuzz runs (LONG_FUZZTIME=$(LONG_FUZZTIME) per target)"
	@echo "make soak         long fault and scale tests"
	@echo "make cross        hotspot and firmware-bridge for linux/arm64 and linux/arm (v7), no cgo"
	@echo "make devnet       run the local network"
	@echo "make services     start (or install) PostgreSQL and Mosquitto for the tests"

build:
	@mkdir -p $(BIN)
	$(GO) build -o $(BIN)/ $(addprefix ./cmd/,$(BINARIES))

# Each tool is installed on its own (one shared module would make buf and
# protoc-gen-go fight over the protobuf version). A stamp per version makes
# re-runs free.
$(BIN)/.buf-$(BUF_VERSION):
	@mkdir -p $(BIN)
	GOBIN=$(BIN) $(GO) install github.com/bufbuild/buf/cmd/buf@$(BUF_VERSION)
	@touch $@
$(BIN)/.protoc-gen-go-$(PROTOC_GEN_GO_VERSION):
	@mkdir -p $(BIN)
	GOBIN=$(BIN) $(GO) install google.golang.org/protobuf/cmd/protoc-gen-go@$(PROTOC_GEN_GO_VERSION)
	@touch $@
$(BIN)/.protoc-gen-go-grpc-$(PROTOC_GEN_GO_GRPC_VERSION):
	@mkdir -p $(BIN)
	GOBIN=$(BIN) $(GO) install google.golang.org/grpc/cmd/protoc-gen-go-grpc@$(PROTOC_GEN_GO_GRPC_VERSION)
	@touch $@
$(BIN)/.staticcheck-$(STATICCHECK_VERSION):
	@mkdir -p $(BIN)
	GOBIN=$(BIN) $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)
	@touch $@
$(BIN)/.golangci-lint-$(GOLANGCI_LINT_VERSION):
	@mkdir -p $(BIN)
	GOBIN=$(BIN) $(GO) install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION)
	@touch $@

PROTO_TOOLS := $(BIN)/.buf-$(BUF_VERSION) $(BIN)/.protoc-gen-go-$(PROTOC_GEN_GO_VERSION) $(BIN)/.protoc-gen-go-grpc-$(PROTOC_GEN_GO_GRPC_VERSION)
LINT_TOOLS := $(BIN)/.staticcheck-$(STATICCHECK_VERSION) $(BIN)/.golangci-lint-$(GOLANGCI_LINT_VERSION)

tools: $(PROTO_TOOLS) $(LINT_TOOLS)

proto: $(PROTO_TOOLS)
	$(BIN)/buf lint
	$(BIN)/buf generate
	$(BIN)/buf build -o - | $(GO) run ./cmd/protodoc > docs/wire.md

# Regenerates into a scratch copy and fails when the committed code differs.
proto-check: $(PROTO_TOOLS)
	@scripts/proto-check.sh $(BIN)

lint: tools
	$(GO) vet ./...
	$(BIN)/staticcheck ./...
	$(BIN)/golangci-lint run ./...
	$(BIN)/buf lint

test: services proto-check
	$(GO) vet ./...
	scripts/fuzz.sh $(FUZZTIME)
	$(GO) test -count=1 -timeout $(TEST_TIMEOUT) ./...

fuzz:
	scripts/fuzz.sh $(LONG_FUZZTIME)

bench:
	scripts/bench.sh

soak:
	HEXPROOF_SOAK=1 $(GO) test -count=1 -timeout 80m -run 'Soak' ./...

cross:
	@mkdir -p $(BIN)/linux-arm64 $(BIN)/linux-armv7
	@scripts/check-nocgo.sh $(addprefix ./cmd/,$(EDGE_BINARIES))
	CGO_ENABLED=0 GOOS=linux GOARCH=arm64 $(GO) build -tags grpcnotrace -trimpath -ldflags='-s -w' -o $(BIN)/linux-arm64/ $(addprefix ./cmd/,$(EDGE_BINARIES))
	CGO_ENABLED=0 GOOS=linux GOARCH=arm GOARM=7 $(GO) build -tags grpcnotrace -trimpath -ldflags='-s -w' -o $(BIN)/linux-armv7/ $(addprefix ./cmd/,$(EDGE_BINARIES))
	@file $(BIN)/linux-arm64/* $(BIN)/linux-armv7/* 2>/dev/null || ls -l $(BIN)/linux-arm64 $(BIN)/linux-armv7

devnet: services build
	$(BIN)/devnet $(DEVNET_ARGS)

services:
	scripts/services.sh

clean:
	rm -rf $(BIN)
