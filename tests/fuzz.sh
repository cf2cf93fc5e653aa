#!/usr/bin/env bash
# Runs every Go fuzz target in the tree for a short while (FUZZTIME, default
# 5s). Each target's committed corpus under testdata/fuzz is always replayed
# by plain `go test`; this adds fresh inputs on top.
set -euo pipefail
fuzztime=${FUZZTIME:-5s}
grep -rl --include='*_test.go' '^func Fuzz' . | sort | while read -r file; do
	pkg=./$(dirname "${file#./}")
	for target in $(grep -o '^func Fuzz[A-Za-z0-9_]*' "$file" | cut -d' ' -f2); do
		echo "fuzz $pkg $target ($fuzztime)"
		go test -run='^$' -fuzz="^${target}\$" -fuzztime="$fuzztime" "$pkg"
	done
done
