#!/usr/bin/env bash
# Fails when the committed generated protobuf code differs from what
# `make proto` produces with the pinned generators.
set -euo pipefail
bin=${1:?usage: proto-check.sh BIN_DIR}
root=$(cd "$(dirname "$0")/.." && pwd)
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
cp -r "$root/proto" "$root/buf.yaml" "$root/buf.gen.yaml" "$scratch/"
mkdir -p "$scratch/bin"
ln -s "$bin/protoc-gen-go" "$bin/protoc-gen-go-grpc" "$scratch/bin/"
find "$scratch/proto" -name '*.pb.go' -delete
(cd "$scratch" && "$bin/buf" lint && "$bin/buf" generate)
if ! diff -r "$root/proto" "$scratch/proto"; then
	echo "proto-check: generated code is stale; run 'make proto' and commit the result" >&2
	exit 1
fi
(cd "$scratch" && "$bin/buf" build -o -) | (cd "$root" && go run ./cmd/protodoc) > "$scratch/wire.md"
if ! diff "$root/docs/wire.md" "$scratch/wire.md"; then
	echo "proto-check: docs/wire.md is stale; run 'make proto' and commit the result" >&2
	exit 1
fi
echo "proto-check: generated code and docs/wire.md match proto/"
