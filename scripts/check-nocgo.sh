#!/usr/bin/env bash
# Fails when a non-standard package in the import graph of the given main
# packages uses cgo. The gateway binaries must cross-compile without a C
# toolchain, so h3-go and friends must never reach them.
set -euo pipefail
bad=$(CGO_ENABLED=1 go list -deps -f '{{if and .CgoFiles (not .Standard)}}{{.ImportPath}}{{end}}' "$@" | sort -u)
if [[ -n "$bad" ]]; then
	echo "check-nocgo: cgo packages in the import graph of $*:" >&2
	echo "$bad" >&2
	exit 1
fi
echo "check-nocgo: $* are free of cgo"
