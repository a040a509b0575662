#!/usr/bin/env bash
# Runs every Fuzz target in the module for the given time each
# (default 3s; `make fuzz` uses longer). Corpus findings land in each
# package's testdata/fuzz and fail the run.
set -euo pipefail
fuzztime=${1:-3s}
cd "$(dirname "$0")/.."
mapfile -t files < <(grep -rl --include='*_test.go' -E '^func Fuzz[A-Za-z0-9_]*\(' . | grep -v '^./bin/' | sort)
n=0
for f in "${files[@]}"; do
	dir=$(dirname "$f")
	for target in $(grep -oE '^func Fuzz[A-Za-z0-9_]*' "$f" | sed 's/^func //'); do
		echo "fuzz: $dir $target ($fuzztime)"
		if ! go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" "$dir" > /tmp/hexproof-fuzz.$$.log 2>&1; then
			# Go's fuzzer can report "context deadline exceeded" when
			# -fuzztime ends while a worker is mid-input, without any failing
			# input; run such a target once more. A real finding writes a
			# file under testdata/fuzz and fails both times.
			if grep -q 'context deadline exceeded' /tmp/hexproof-fuzz.$$.log && ! grep -q 'Failing input written' /tmp/hexproof-fuzz.$$.log; then
				echo "fuzz: $dir $target stopped at the deadline without a finding; running it again"
				if go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" "$dir" > /tmp/hexproof-fuzz.$$.log 2>&1; then
					n=$((n+1))
					continue
				fi
			fi
			cat /tmp/hexproof-fuzz.$$.log
			rm -f /tmp/hexproof-fuzz.$$.log
			exit 1
		fi
		n=$((n+1))
	done
done
rm -f /tmp/hexproof-fuzz.$$.log
echo "fuzz: $n targets passed"
