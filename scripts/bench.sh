#!/usr/bin/env bash
# Runs the benchmarks of every package; docs/benchmarks.md records the
# figures with this command. BENCH selects benchmarks (default all),
# BENCHTIME sets -benchtime.
set -euo pipefail
cd "$(dirname "$0")/.."
bench=${BENCH:-.}
benchtime=${BENCHTIME:-1s}
HEXPROOF_BENCH=1 go test -run '^$' -bench "$bench" -benchtime "$benchtime" -benchmem -timeout 60m ./... 2>&1 | tee bench.out
echo "bench: full output in bench.out"
