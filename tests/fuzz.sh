#!/usr/bin/env bash
# Runs every Go fuzz target in the tree for a short while (FUZZTIME, default
# 50000x: fifty thousand inputs each). Each target's committed corpus under
# testdata/fuzz is always replayed by plain `go test`; this adds fresh inputs
# on top.
#
# The budget is a count, not a duration: Go 1.26's fuzz coordinator can
# report "context deadline exceeded" as a failure when a duration budget
# ends while a starved worker is mid-input (golang/go#75804, fixed in 1.27),
# which a loaded 2-core machine hits. A count has no deadline to race.
set -euo pipefail
fuzztime=${FUZZTIME:-50000x}
grep -rl --include='*_test.go' '^func Fuzz' . | sort | while read -r file; do
	pkg=./$(dirname "${file#./}")
	for target in $(grep -o '^func Fuzz[A-Za-z0-9_]*' "$file" | cut -d' ' -f2); do
		echo "fuzz $pkg $target ($fuzztime)"
		go test -run='^$' -fuzz="^${target}\$" -fuzztime="$fuzztime" "$pkg"
	done
done
